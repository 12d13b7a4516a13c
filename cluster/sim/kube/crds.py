"""CustomResourceDefinitions as apiextensions-apiserver treats them (pure): what makes one valid,
the status it gets once established, and the resource type its custom resources are served as.
Sources: kubernetes staging/src/k8s.io/apiextensions-apiserver pkg/apis/apiextensions/validation
(ValidateCustomResourceDefinition: the name, group, scope and storage-version rules and their
messages), pkg/controller/establish and pkg/controller/status (NamesAccepted, Established,
acceptedNames, storedVersions).  The simulator serves a CRD's storage version only: the store
keeps one version of each kind."""

from __future__ import annotations

from typing import Any

from cluster.sim.kube.errors import FieldError
from cluster.sim.kube.resources import ResourceType

Obj = dict[str, Any]
SCOPES = ("Cluster", "Namespaced")


def storage_version(crd: Obj) -> Obj | None:
    versions = (crd.get("spec") or {}).get("versions") or []
    stored = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    return stored[0] if len(stored) == 1 else None


def errors(crd: Obj) -> list[FieldError]:
    """The fields a CRD gets wrong, as ValidateCustomResourceDefinition words them."""
    spec: Obj = crd["spec"] if isinstance(crd.get("spec"), dict) else {}
    names: Obj = spec["names"] if isinstance(spec.get("names"), dict) else {}
    group, plural = spec.get("group"), names.get("plural")
    out: list[FieldError] = []
    if not group:
        out.append(FieldError("spec.group", "FieldValueRequired", "Required value"))
    elif "." not in str(group):
        out.append(FieldError("spec.group", "FieldValueInvalid", f'Invalid value: "{group}": should be a domain with at least one dot'))
    for field in ("plural", "kind"):
        if not names.get(field):
            out.append(FieldError(f"spec.names.{field}", "FieldValueRequired", "Required value"))
    if spec.get("scope") not in SCOPES:
        out.append(FieldError("spec.scope", "FieldValueNotSupported", f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"'))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        out.append(FieldError("spec.versions", "FieldValueRequired", "Required value: must have exactly one version marked as storage version"))
    elif storage_version(crd) is None:
        out.append(FieldError("spec.versions", "FieldValueInvalid", "Invalid value: must have exactly one version marked as storage version"))
    name = (crd.get("metadata") or {}).get("name")
    if group and plural and name != f"{plural}.{group}":
        out.append(FieldError("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    return out


def accepted_names(crd: Obj) -> Obj:
    names = dict(crd["spec"]["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    return names


def with_status(crd: Obj, now: str, old: Obj | None = None) -> Obj:
    """`crd` with the status the naming and establishing controllers write: its names accepted,
    Established, its storage version recorded (conditions keep their first transition time)."""
    before = {c.get("type"): c for c in ((old or {}).get("status") or {}).get("conditions") or []}

    def condition(kind: str, reason: str, message: str) -> Obj:
        since = before.get(kind, {}).get("lastTransitionTime") if before.get(kind, {}).get("status") == "True" else None
        return {"type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": since or now}

    stored = list(((old or {}).get("status") or {}).get("storedVersions") or [])
    version = storage_version(crd)
    if version is not None and version.get("name") not in stored:
        stored.append(version["name"])
    return {**crd, "status": {
        "acceptedNames": accepted_names(crd),
        "conditions": [condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                       condition("Established", "InitialNamesAccepted", "the initial names have been accepted")],
        "storedVersions": stored,
    }}


def resource_type(crd: Obj) -> ResourceType:
    """The type the CRD's custom resources are served as (its storage version)."""
    spec, names = crd["spec"], accepted_names(crd)
    version = storage_version(crd) or {}
    subresources = version.get("subresources") or {}
    return ResourceType(spec["group"], str(version.get("name")), names["kind"], names["plural"], spec["scope"] == "Namespaced",
                        tuple(names.get("shortNames") or ()), "status" in subresources, tuple(s for s in ("status", "scale") if s in subresources),
                        tuple(names.get("categories") or ()), bump_generation=True, crd=True)


def schema(crd: Obj) -> Obj | None:
    """The storage version's openAPIV3Schema, as the API server publishes it: apiVersion, kind and
    metadata described as for every kind."""
    found = ((storage_version(crd) or {}).get("schema") or {}).get("openAPIV3Schema")
    if not isinstance(found, dict):
        return None
    props = dict(found.get("properties") or {})
    props["metadata"] = {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],
                         "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"}
    return {**found, "properties": props}


def definition_name(rt: ResourceType) -> str:
    """The name the API server gives a custom kind's schema: the group reversed (karpenter.sh ->
    sh.karpenter), then version and kind."""
    return ".".join([*reversed(rt.group.split(".")), rt.version, rt.kind])
