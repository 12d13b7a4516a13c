"""The API server's OpenAPI v3 discovery as kubectl reads it (pure): `/openapi/v3` lists one
document per group-version, and each document has, for every resource, its paths with the
operations the simulator serves.  The PATCH operation carries `x-kubernetes-group-version-kind`
and the `fieldValidation` parameter: that is how kubectl decides the server validates fields
itself (k8s.io/cli-runtime resource.queryParamVerifierV3) and sends `fieldValidation=Strict`
instead of downloading `/openapi/v2` for client-side validation.  The simulator serves no
schemas (`components.schemas` is empty): `kubectl explain` still has nothing to show."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from cluster.sim.kube.resources import ResourceType

QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation")


def gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _params(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in names]


def gv_document(group: str, version: str, resources: list[ResourceType]) -> dict[str, Any]:
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
            "components": {"schemas": {}}}


def root(groups: dict[tuple[str, str], list[ResourceType]]) -> dict[str, Any]:
    """/openapi/v3: each group-version's document, named by a hash of its content (clients cache by it)."""
    out = {}
    for (group, version), resources in sorted(groups.items()):
        digest = hashlib.sha256(orjson.dumps(gv_document(group, version, resources))).hexdigest()[:32].upper()
        out[gv_path(group, version)] = {"serverRelativeURL": f"/openapi/v3/{gv_path(group, version)}?hash={digest}"}
    return {"paths": out}
