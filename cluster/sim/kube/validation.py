"""Validation of objects as the API server does it, naming each bad field (pure)."""

from __future__ import annotations

import re
from typing import Any

from cluster.quantities import parse_quantity
from cluster.sim.kube.crds import errors as crd_errors
from cluster.sim.kube.errors import FieldError
from cluster.sim.kube.resources import ResourceType
from cluster.sim.kube.selectors import labels_match, selector_from_spec

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_LABEL_NAMED = {"Namespace", "Service"}  # names must be DNS-1123 labels
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _name_errors(rt: ResourceType, name: Any) -> list[FieldError]:
    if not name:
        return [FieldError("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")]
    if not isinstance(name, str):
        return [FieldError("metadata.name", "FieldValueInvalid", "Invalid value: must be a string")]
    if rt.kind in _LABEL_NAMED:
        ok, what, limit = bool(_DNS1123_LABEL.match(name)), "a lowercase RFC 1123 label", 63
    elif rt.kind == "Event":
        ok, what, limit = True, "", 253
    else:
        ok, what, limit = bool(_DNS1123_SUBDOMAIN.match(name)), "a lowercase RFC 1123 subdomain", 253
    if len(name) > limit:
        return [FieldError("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": must be no more than {limit} characters')]
    if not ok:
        return [
            FieldError(
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": {what} must consist of lower case alphanumeric characters, '
                "'-' or '.', and must start and end with an alphanumeric character",
            )
        ]
    return []


def _label_errors(path: str, labels: Any) -> list[FieldError]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [FieldError(path, "FieldValueInvalid", "Invalid value: must be a map of string keys to string values")]
    errs = []
    for key, value in labels.items():
        name = key.rsplit("/", 1)[-1]
        prefix = key.rsplit("/", 1)[0] if "/" in key else ""
        if not _LABEL_NAME.match(name) or len(name) > 63 or (prefix and not _DNS1123_SUBDOMAIN.match(prefix)):
            errs.append(FieldError(path, "FieldValueInvalid", f'Invalid value: "{key}": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\''))
        if not isinstance(value, str) or not _LABEL_VALUE.match(value) or len(value) > 63:
            errs.append(FieldError(f"{path}", "FieldValueInvalid", f'Invalid value: "{value}": a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\''))
    return errs


def _resources_errors(path: str, resources: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    if not resources:
        return errs
    for section in ("requests", "limits"):
        for res, qty in (resources.get(section) or {}).items():
            try:
                parse_quantity(qty)
            except ValueError:
                errs.append(FieldError(f"{path}.{section}[{res}]", "FieldValueInvalid", f'Invalid value: "{qty}": must be a quantity such as 500m or 2Gi'))
    return errs


def _pod_spec_errors(path: str, spec: Any) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [FieldError(path, "FieldValueRequired", "Required value")]
    errs: list[FieldError] = []
    containers = spec.get("containers")
    if not containers or not isinstance(containers, list):
        return [FieldError(f"{path}.containers", "FieldValueRequired", "Required value")]
    seen = set()
    for i, c in enumerate(containers):
        cp = f"{path}.containers[{i}]"
        if not isinstance(c, dict):
            errs.append(FieldError(cp, "FieldValueInvalid", "Invalid value: must be an object"))
            continue
        if not c.get("name"):
            errs.append(FieldError(f"{cp}.name", "FieldValueRequired", "Required value"))
        elif c["name"] in seen:
            errs.append(FieldError(f"{cp}.name", "FieldValueDuplicate", f'Duplicate value: "{c["name"]}"'))
        seen.add(c.get("name"))
        if not c.get("image"):
            errs.append(FieldError(f"{cp}.image", "FieldValueRequired", "Required value"))
        errs += _resources_errors(f"{cp}.resources", c.get("resources"))
        for j, p in enumerate(c.get("ports") or []):
            port = p.get("containerPort") if isinstance(p, dict) else None
            if not isinstance(port, int) or not 0 < port < 65536:
                errs.append(FieldError(f"{cp}.ports[{j}].containerPort", "FieldValueInvalid", f"Invalid value: {port!r}: must be between 1 and 65535, inclusive"))
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or grace < 0):
        errs.append(FieldError(f"{path}.terminationGracePeriodSeconds", "FieldValueInvalid", f"Invalid value: {grace!r}: must be greater than or equal to 0"))
    for k, t in enumerate(spec.get("tolerations") or []):
        if t.get("effect") and t["effect"] not in _TAINT_EFFECTS:
            errs.append(FieldError(f"{path}.tolerations[{k}].effect", "FieldValueNotSupported", f'Unsupported value: "{t["effect"]}": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'))
    ns = spec.get("nodeSelector")
    if ns is not None:
        errs += _label_errors(f"{path}.nodeSelector", ns)
    return errs


def _template_errors(spec: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    sel = spec.get("selector")
    if not sel:
        errs.append(FieldError("spec.selector", "FieldValueRequired", "Required value"))
    template = spec.get("template")
    if not isinstance(template, dict):
        return errs + [FieldError("spec.template", "FieldValueRequired", "Required value")]
    labels = (template.get("metadata") or {}).get("labels") or {}
    if sel and not labels_match(selector_from_spec(sel), labels):
        errs.append(FieldError("spec.template.metadata.labels", "FieldValueInvalid", f"Invalid value: {labels}: `selector` does not match template `labels`"))
    errs += _pod_spec_errors("spec.template.spec", template.get("spec"))
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        errs.append(FieldError("spec.replicas", "FieldValueInvalid", f"Invalid value: {replicas!r}: must be greater than or equal to 0"))
    return errs


def validate(rt: ResourceType, obj: dict[str, Any]) -> list[FieldError]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [FieldError("metadata", "FieldValueRequired", "Required value")]
    errs = _name_errors(rt, meta.get("name"))
    errs += _label_errors("metadata.labels", meta.get("labels"))
    ann = meta.get("annotations")
    if ann is not None and (not isinstance(ann, dict) or not all(isinstance(v, str) for v in ann.values())):
        errs.append(FieldError("metadata.annotations", "FieldValueInvalid", "Invalid value: must be a map of string keys to string values"))
    spec = obj.get("spec")
    if rt.kind == "Pod":
        errs += _pod_spec_errors("spec", spec)
    elif rt.kind in ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"):
        errs += _template_errors(spec if isinstance(spec, dict) else {})
    elif rt.kind == "Node":
        for k, t in enumerate((spec or {}).get("taints") or []):
            if not t.get("key"):
                errs.append(FieldError(f"spec.taints[{k}].key", "FieldValueRequired", "Required value"))
            if t.get("effect") not in _TAINT_EFFECTS:
                errs.append(FieldError(f"spec.taints[{k}].effect", "FieldValueNotSupported", f'Unsupported value: "{t.get("effect")}": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'))
    elif rt.kind == "PodDisruptionBudget":
        s = spec or {}
        if "minAvailable" in s and "maxUnavailable" in s:
            errs.append(FieldError("spec", "FieldValueInvalid", "Invalid value: minAvailable and maxUnavailable cannot be both set"))
    elif rt.kind == "CustomResourceDefinition":
        errs += crd_errors(obj)
    elif rt.kind == "Service":
        for j, p in enumerate((spec or {}).get("ports") or []):
            if not isinstance(p.get("port"), int):
                errs.append(FieldError(f"spec.ports[{j}].port", "FieldValueRequired", "Required value"))
    return errs
