"""Checks of EKS managed node groups on Spot: the group itself drains its nodes (capacity
rebalancing, then its lifecycle hook), so NTH in IMDS mode on the same nodes is a second drainer
of the same notice.  Sources: the EKS user guide, managed node groups (Spot, capacity
rebalancing); NTH issue #186 (the maintainer: no NTH needed for managed nodes)."""

from __future__ import annotations

from cluster.components.nth import NthConfigError, container_env, is_nth, parse_env
from cluster.doctor.findings import Finding, Inventory, Level, name_of


def spot_groups_all_managed(inv: Inventory) -> bool:
    spot = [g for g in inv.node_groups or () if g.spot]
    return bool(spot) and all(g.managed for g in spot)


def check(inv: Inventory) -> list[Finding]:
    managed = [g.name for g in inv.node_groups or () if g.spot and g.managed]
    if not managed:
        return []
    out = []
    for w, c in inv.containers("DaemonSet"):
        if not is_nth(c):
            continue
        try:
            cfg = parse_env(container_env(c))
        except NthConfigError:
            continue
        if not cfg.queue_mode and (cfg.enable_spot_interruption_draining or cfg.enable_rebalance_draining):
            out.append(Finding("managed-and-nth", Level.WARNING, name_of(w),
                               f"NTH in IMDS mode drains the nodes of managed Spot node groups ({', '.join(managed)})",
                               "the managed node group already drains them on the rebalance recommendation and the notice: two drainers of "
                               "one event race (double cordons, evictions retried against each other's budget)",
                               "keep NTH off managed nodes (a node affinity excluding eks.amazonaws.com/nodegroup), or remove it"))
    return out
