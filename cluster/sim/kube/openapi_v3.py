"""The API server's OpenAPI v3 discovery as kubectl reads it (pure): `/openapi/v3` lists one
document per group-version, and each document has, for every resource, its paths with the
operations the simulator serves.  The PATCH operation carries `x-kubernetes-group-version-kind`
and the `fieldValidation` parameter: that is how kubectl decides the server validates fields
itself (k8s.io/cli-runtime resource.queryParamVerifierV3) and sends `fieldValidation=Strict`
instead of downloading `/openapi/v2` for client-side validation.  `components.schemas` holds the
release's own definitions for the group-version's kinds and what they refer to (from
kubernetes-validate's copy of the Kubernetes OpenAPI), so `kubectl explain` finds them."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from importlib import resources as package_files
from typing import Any

from cluster.sim.kube.crds import definition_name
from cluster.sim.kube.resources import ResourceType

QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
GVK_EXTENSION = "x-kubernetes-group-version-kind"
REF = re.compile(r'"#/\$defs/([^"]+)"')
REF_COMPONENT = re.compile(r'"#/components/schemas/([^"]+)"')


@cache
def _definitions() -> dict[str, Any]:
    """The release's definitions, by name (io.k8s.api.apps.v1.Deployment, ...)."""
    from cluster.sim.kube.field_validation import SCHEMA_VERSION

    path = package_files.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{SCHEMA_VERSION}-local" / "_definitions.json"
    try:
        return dict(json.loads(path.read_text())["$defs"])
    except (OSError, KeyError, ValueError):
        return {}


def schemas(gvks: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The definitions of these kinds and every definition they refer to, with their references
    pointing into components.schemas."""
    defs = _definitions()
    wanted = {(g, v, k) for g, v, k in gvks}
    return _referred({}, [name for name, d in defs.items() if any((x.get("group", ""), x.get("version"), x.get("kind")) in wanted for x in d.get(GVK_EXTENSION) or [])])


def _referred(out: dict[str, Any], todo: list[str]) -> dict[str, Any]:
    """`out` with the release's definitions named in `todo` and every one they refer to."""
    defs = _definitions()
    while todo:
        name = todo.pop()
        if name in out or name not in defs:
            continue
        text = json.dumps(defs[name])
        todo += REF.findall(text)
        out[name] = _openapi_types(json.loads(REF.sub(lambda m: f'"#/components/schemas/{m.group(1)}"', text)))
    return out


def _openapi_types(schema: Any) -> Any:
    """JSON Schema's `"type": ["integer", "null"]` as OpenAPI 3.0 writes it (`"type": "integer",
    "nullable": true`): kubectl explain compares `type` with a string."""
    if isinstance(schema, list):
        return [_openapi_types(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _openapi_types(v) for k, v in schema.items()}
    kinds = out.get("type")
    if isinstance(kinds, list):
        real = [k for k in kinds if k != "null"]
        if len(real) == 1:
            out["type"] = real[0]
        elif not real:
            out.pop("type")
        else:
            out.pop("type")  # several types: OpenAPI 3.0 says so by leaving type out
        if "null" in kinds:
            out["nullable"] = True
    return out


def gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _params(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in names]


def custom_schemas(resources: list[ResourceType], crd_schemas: dict[str, Any]) -> dict[str, Any]:
    """The custom kinds' schemas from their CRDs, named as the API server names them, and the
    release's definitions they refer to (ObjectMeta)."""
    out: dict[str, Any] = {}
    for r in resources:
        if r.key in crd_schemas:
            out[definition_name(r)] = {**crd_schemas[r.key], GVK_EXTENSION: [{"group": r.group, "version": r.version, "kind": r.kind}]}
    return _referred(out, REF_COMPONENT.findall(json.dumps(out)))


def gv_document(group: str, version: str, resources: list[ResourceType], crd_schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for r in resources:
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        base = f"/{gv_path(group, version)}/" + ("namespaces/{namespace}/" if r.namespaced else "") + r.plural
        ok = {"200": {"description": "OK"}}
        collection: dict[str, Any] = {}
        item: dict[str, Any] = {}
        if "create" in r.verbs:
            collection["post"] = {"operationId": f"create{r.kind}", "parameters": _params(*QUERY_PARAMS), "responses": ok,
                                  "x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk}
        if "list" in r.verbs:
            collection["get"] = {"operationId": f"list{r.kind}", "responses": ok, "x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk}
        if "get" in r.verbs:
            item["get"] = {"operationId": f"read{r.kind}", "responses": ok, "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk}
        if "update" in r.verbs:
            item["put"] = {"operationId": f"replace{r.kind}", "parameters": _params(*QUERY_PARAMS), "responses": ok,
                           "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk}
        if "patch" in r.verbs:
            item["patch"] = {"operationId": f"patch{r.kind}", "parameters": _params(*QUERY_PARAMS, "force"), "responses": ok,
                             "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk}
        if "delete" in r.verbs:
            item["delete"] = {"operationId": f"delete{r.kind}", "parameters": _params("dryRun"), "responses": ok,
                              "x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk}
        if collection:
            paths[base] = collection
        if item:
            paths[base + "/{name}"] = item
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (spotchaos simulator)", "version": "unversioned"}, "paths": paths,
            "components": {"schemas": schemas([(r.group, r.version, r.kind) for r in resources]) | custom_schemas(resources, crd_schemas or {})}}


def root(documents: dict[str, bytes]) -> dict[str, Any]:
    """/openapi/v3: each group-version's document (by its path, as served), named by a hash of its
    content (clients cache by it)."""
    return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={hashlib.sha256(body).hexdigest()[:32].upper()}"}
                      for path, body in sorted(documents.items())}}
