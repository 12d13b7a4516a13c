"""Checks of the Spot node groups: enough instance types, and one shape per group."""

from __future__ import annotations

from cluster.doctor.findings import Finding, Inventory, Level
from cluster.instance_types import INSTANCE_TYPES, lookup

MIN_SPOT_TYPES = 4


def check(inv: Inventory) -> list[Finding]:
    out = []
    for g in inv.node_groups or ():
        if not g.spot:
            continue
        known = [lookup(t) for t in g.instance_types if t in INSTANCE_TYPES]
        if len(g.instance_types) == 1:
            out.append(Finding("spot-single-type", Level.ERROR, f"node group {g.name}", f"one instance type ({g.instance_types[0]})",
                               "every node is in the same few Spot pools: one capacity event reclaims them together and the group "
                               "cannot launch replacements (a managed group's capacity rebalancing relaunches into the same pools)",
                               f"list at least {MIN_SPOT_TYPES} types of the same size"))
        elif len(g.instance_types) < MIN_SPOT_TYPES:
            out.append(Finding("spot-not-diversified", Level.WARNING, f"node group {g.name}", f"{len(g.instance_types)} instance types",
                               "few Spot pools mean correlated interruptions and launch failures", f"list at least {MIN_SPOT_TYPES} types of the same size"))
        if len({round(t.memory_mib / 1024 / t.vcpus) for t in known}) > 1 or len({t.vcpus for t in known}) > 1:
            out.append(Finding("spot-mixed-shapes", Level.WARNING, f"node group {g.name}", "instance types of different vCPU or vCPU:memory shapes",
                               "Cluster Autoscaler plans with the first type: other shapes make its estimates wrong",
                               "keep one vCPU and memory size per node group; make another group for another size"))
    return out
