"""Owner references, template hashes and pod readiness: the plain facts controllers share (pure)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from cluster.kube_views import is_ready
from cluster.sim.kube.defaults import _NAME_CHARS

Obj = dict[str, Any]


def owner_reference(owner: Obj) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_uid(obj: Obj) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref["uid"])
    return None


def controller_ref(obj: Obj) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(orjson.dumps(template, option=orjson.OPT_SORT_KEYS)).digest()
    return "".join(_NAME_CHARS[b % len(_NAME_CHARS)] for b in digest[:10])


def is_terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_active(pod: Obj) -> bool:
    return not is_terminating(pod) and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


pod_is_ready = is_ready  # the name the workload controllers read


def pod_from_template(owner: Obj, template: Obj, extra_labels: dict[str, str] | None = None) -> Obj:
    meta = template.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    labels.update(extra_labels or {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": owner["metadata"]["name"] + "-",
            "namespace": owner["metadata"]["namespace"],
            "labels": labels,
            "annotations": dict(meta.get("annotations") or {}),
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": orjson.loads(orjson.dumps(template.get("spec") or {})),
    }


def scaled_value(value: int | str | None, total: int, round_up: bool, default: int = 0) -> int:
    """An IntOrString like maxSurge '25%' resolved against `total`."""
    import math

    if value is None:
        return default
    if isinstance(value, int):
        return value
    s = str(value)
    if s.endswith("%"):
        raw = int(s[:-1]) * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(s)
