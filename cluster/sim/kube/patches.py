"""PATCH bodies as the API server applies them: JSON merge, strategic merge, JSON patch (pure)."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from cluster.sim.kube.errors import ApiError, BadRequest

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"

# Lists merged by key in strategic-merge patches (patchMergeKey from the Kubernetes API types).
# Lists not named here are replaced whole, as for Node spec.taints, which has no patch strategy.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "conditions": "type",
    "ownerReferences": "uid",
    "imagePullSecrets": "name",
    "tolerations": "",  # atomic in the API; listed to document the choice
    "addresses": "type",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _strategic_list(target: list[Any], patch: list[Any], key_name: str) -> list[Any]:
    out = [copy.deepcopy(x) for x in target]
    for item in patch:
        if not isinstance(item, dict) or key_name not in item:
            # plain item appended if absent (e.g. finalizers are merged as sets by the real server)
            if item not in out:
                out.append(copy.deepcopy(item))
            continue
        directive = item.get("$patch")
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key_name) == item[key_name]), None)
        if directive == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        clean = {k: v for k, v in item.items() if k != "$patch"}
        if idx is None:
            out.append(strategic_merge_patch({}, clean))
        else:
            out[idx] = strategic_merge_patch(out[idx], clean)
    return out


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge for the fields kubectl and the clients send (cordon, label, taint, drain, conditions)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key.startswith("$retainKeys") or key == "$patch":
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [x for x in result.get(field, []) if x not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and _MERGE_KEYS.get(key) and isinstance(result.get(key), list):
            result[key] = _strategic_list(result[key], value, _MERGE_KEYS[key])
        elif isinstance(value, dict):
            result[key] = strategic_merge_patch(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def apply_patch(content_type: str, target: dict[str, Any], patch: Any) -> dict[str, Any]:
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == JSON_PATCH:
        if not isinstance(patch, list):
            raise BadRequest("json patch must be a list of operations")
        try:
            return jsonpatch.apply_patch(target, patch, in_place=False)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {exc}") from exc
    if not isinstance(patch, dict):
        raise BadRequest("patch body must be a JSON object")
    if ctype == MERGE:
        return merge_patch(target, patch)
    if ctype in (STRATEGIC, APPLY):
        return strategic_merge_patch(target, patch)
    raise ApiError(
        415,
        "UnsupportedMediaType",
        f'the body of the request was in an unknown format - accepted media types include: {JSON_PATCH}, {MERGE}, {STRATEGIC}, {APPLY}; got "{ctype}"',
    )
