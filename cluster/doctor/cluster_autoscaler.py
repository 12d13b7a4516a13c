"""Checks of Cluster Autoscaler, judged by the reading CA makes of its own flags
(cluster.components.cluster_autoscaler): is it there, does it discover every Spot group."""

from __future__ import annotations

from cluster.components.cluster_autoscaler import (
    CaFlagError,
    container_argv,
    is_cluster_autoscaler,
    parse_flags,
)
from cluster.components.karpenter import is_karpenter
from cluster.doctor.findings import Finding, Inventory, Level, name_of

DISCOVERY_HINT = "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/<cluster>"


def check(inv: Inventory) -> list[Finding]:
    found = [(w, c) for w, c in inv.containers("Deployment") if is_cluster_autoscaler(c)]
    if not found and any(is_karpenter(c) for _, c in inv.containers("Deployment")):
        return []  # Karpenter provisions for pending pods in its place
    if not found:
        return [Finding("ca-missing", Level.WARNING, "cluster", "no Cluster Autoscaler is deployed",
                        "reclaimed capacity comes back only through the Auto Scaling groups' own replacement; pending pods do not grow the cluster",
                        "deploy Cluster Autoscaler with --node-group-auto-discovery")]
    out = []
    for w, c in found:
        try:
            cfg = parse_flags(container_argv(c))
        except CaFlagError as exc:
            out.append(Finding("ca-flags-invalid", Level.ERROR, name_of(w), str(exc),
                               "Cluster Autoscaler exits at start-up on this flag: nothing scales", "fix the flag"))
            continue
        if not cfg.auto_discovery and not cfg.static_groups:
            out.append(Finding("ca-no-discovery", Level.ERROR, name_of(w), "no --node-group-auto-discovery (or --nodes)",
                               "the autoscaler manages no node group", f"add {DISCOVERY_HINT}"))
            continue
        static = {s.name for s in cfg.static_groups}
        missed = [g.name for g in inv.node_groups or () if g.spot and cfg.auto_discovery
                  and not any(d.matches(g.tags) for d in cfg.auto_discovery) and g.name not in static]
        if missed:
            wanted = ", ".join(k if v is None else f"{k}={v}" for k, v in cfg.auto_discovery[0].tags)
            out.append(Finding("ca-misses-spot-groups", Level.ERROR, name_of(w), f"auto-discovery does not find {', '.join(missed)}",
                               "those Spot groups are never grown for pending pods", f"tag them with {wanted}"))
    return out
