"""Read-only views over Kubernetes objects as JSON dicts, shared by the simulator's controllers,
the doctor and the harness: a condition's status, Ready, taints.  Pure; an object missing any
part reads as not having it (a Node without status is not Ready)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]


def conditions(obj: Obj) -> list[Mapping[str, Any]]:
    return list((obj.get("status") or {}).get("conditions") or [])


def condition_status(obj: Obj, kind: str) -> str | None:
    """The status ("True", "False", "Unknown") of the object's first condition of type `kind`;
    None when it has none."""
    return next((c.get("status") for c in conditions(obj) if c.get("type") == kind), None)


def condition_true(obj: Obj, kind: str) -> bool:
    return condition_status(obj, kind) == "True"


def is_ready(obj: Obj) -> bool:
    """A Node's or a Pod's Ready condition is True."""
    return condition_true(obj, "Ready")


def taints(node: Obj) -> list[Mapping[str, Any]]:
    return list((node.get("spec") or {}).get("taints") or [])


def has_taint(node: Obj, key: str) -> bool:
    return any(t.get("key") == key for t in taints(node))
