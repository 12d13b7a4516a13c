"""Static Spot-readiness checks of a cluster's objects and node groups (pure), one module per
component; each reads the component's settings through cluster.components, as the simulator does."""

from __future__ import annotations

from collections.abc import Callable

from cluster.doctor import cluster_autoscaler, credentials, load_balancer, node_groups, nth, serving
from cluster.doctor.findings import Finding, Inventory, Level, NodeGroupFacts, Obj

__all__ = ["CHECKERS", "Finding", "Inventory", "Level", "NodeGroupFacts", "diagnose"]

CHECKERS: tuple[Callable[[Inventory], list[Finding]], ...] = (
    nth.check, serving.check, load_balancer.check, node_groups.check, cluster_autoscaler.check, credentials.check,
)


def diagnose(objects: list[Obj], groups: list[NodeGroupFacts] | None = None) -> list[Finding]:
    inv = Inventory(tuple(o for o in objects if isinstance(o, dict)), None if groups is None else tuple(groups))
    return [f for checker in CHECKERS for f in checker(inv)]
