"""Static Spot-readiness checks of a cluster's objects and node groups (pure), one module per
component; each reads the component's settings through cluster.components, as the simulator does."""

from __future__ import annotations

from collections.abc import Callable

from cluster.doctor import (
    cluster_autoscaler,
    credentials,
    karpenter,
    load_balancer,
    managed_node_groups,
    node_groups,
    nth,
    serving,
)
from cluster.doctor.findings import Finding, Inventory, Level, NodeGroupFacts, Obj

__all__ = ["CHECKERS", "Finding", "Inventory", "Level", "MalformedObject", "NodeGroupFacts", "diagnose"]


class MalformedObject(ValueError):
    """An object doctor was given is not shaped as Kubernetes defines it; names the object."""


def _shape_problem(obj: Obj) -> str | None:
    for key in ("metadata", "spec", "data", "stringData"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], dict):
            return f"{key} must be a mapping, not {type(obj[key]).__name__}"
    return None

CHECKERS: tuple[Callable[[Inventory], list[Finding]], ...] = (
    nth.check, serving.check, load_balancer.check, node_groups.check, cluster_autoscaler.check, credentials.check, karpenter.check,
    managed_node_groups.check,
)


def diagnose(objects: list[Obj], groups: list[NodeGroupFacts] | None = None) -> list[Finding]:
    kept = tuple(o for o in objects if isinstance(o, dict))
    for o in kept:
        problem = _shape_problem(o)
        if problem:
            meta = o.get("metadata") if isinstance(o.get("metadata"), dict) else {}
            raise MalformedObject(f"{o.get('kind', 'an object')} {meta.get('name', '(unnamed)')}: {problem}")
    inv = Inventory(kept, None if groups is None else tuple(groups))
    findings = []
    for checker in CHECKERS:
        try:
            findings += checker(inv)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            raise MalformedObject(f"the objects are not shaped as Kubernetes defines them ({checker.__module__.rsplit('.', 1)[-1]} checks: "
                                  f"{type(exc).__name__}: {str(exc)[:120]})") from None
    return findings
