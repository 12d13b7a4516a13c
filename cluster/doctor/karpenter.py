"""Checks of Karpenter as the Spot stack: its interruption handling on (a queue), not doubled by
NTH, NodePools that can find Spot capacity, and consolidation that may evict serving pods with no
budget.  Sources: karpenter-provider-aws options.go ("Interruption handling is disabled if not
specified"), its FAQ and troubleshooting pages on NTH alongside Karpenter, instance.go
(instanceTypeFlexibilityThreshold), kubernetes-sigs/karpenter nodepool.go (consolidation defaults)."""

from __future__ import annotations

from typing import Any

from cluster.components.karpenter import (
    FLEXIBILITY_THRESHOLD,
    NodePoolFacts,
    is_karpenter,
    node_pool,
    settings,
)
from cluster.components.nth import NthConfigError, container_env, is_nth, parse_env
from cluster.doctor.findings import (
    Finding,
    Inventory,
    Level,
    containers,
    name_of,
    pod_labels,
    pod_spec,
    selects,
)


def karpenter_handles_interruptions(inv: Inventory) -> bool:
    return any(settings(c).handles_interruptions for _, c in inv.containers("Deployment") if is_karpenter(c))


def check(inv: Inventory) -> list[Finding]:
    """Karpenter's findings, when it is deployed: one rule each below."""
    deployed = [(w, c) for w, c in inv.containers("Deployment") if is_karpenter(c)]
    if not deployed:
        return []
    pools = [node_pool(p) for p in inv.of_kind("NodePool")]
    return _no_interruption_queue(deployed, pools) + _nth_beside(inv) + _few_spot_pools(pools) + _consolidation_without_pdb(inv, pools)


def _no_interruption_queue(deployed: list[tuple[dict[str, Any], dict[str, Any]]], pools: list[NodePoolFacts]) -> list[Finding]:
    out = []
    for w, c in deployed:
        if not settings(c).handles_interruptions and any(p.allows_spot for p in pools):
            out.append(Finding("karpenter-no-interruption-queue", Level.ERROR, name_of(w), "no interruption queue (settings.interruptionQueue, "
                               "INTERRUPTION_QUEUE) while NodePools launch Spot",
                               "Karpenter's interruption handling is off: a Spot notice is not acted on, so the node is not drained before "
                               "the reclaim and no replacement is launched early",
                               "create the SQS queue and its EventBridge rules (Spot interruption, rebalance, instance state change, scheduled "
                               "change) and set settings.interruptionQueue to its name"))
    return out


def _nth_beside(inv: Inventory) -> list[Finding]:
    if not karpenter_handles_interruptions(inv):
        return []
    out = []
    for w, c in inv.containers("DaemonSet", "Deployment"):
        if not is_nth(c):
            continue
        try:
            cfg = parse_env(container_env(c))
        except NthConfigError:
            continue  # nth.py reports it
        if cfg.enable_spot_interruption_draining or cfg.enable_rebalance_draining or cfg.queue_mode:
            out.append(Finding("karpenter-and-nth", Level.ERROR, name_of(w), "NTH runs beside Karpenter's interruption handling",
                               "two handlers of one event that do not share state: both cordon and drain on the notice, and NTH's "
                               "rebalance drains make Karpenter relaunch the same type, for very short-lived nodes (Karpenter FAQ, "
                               "troubleshooting)", "remove NTH, or set enableSpotInterruptionDraining and enableRebalanceDraining to false"))
    return out


def _few_spot_pools(pools: list[NodePoolFacts]) -> list[Finding]:
    return [Finding("nodepool-few-spot-pools", Level.WARNING, f"NodePool {p.name}",
                    f"Spot allowed on {len(p.instance_types)} instance type(s): {', '.join(p.instance_types)}",
                    "few Spot pools mean correlated interruptions and failed launches; Karpenter warns of an on-demand fallback "
                    f"below {FLEXIBILITY_THRESHOLD} types",
                    f"allow at least {FLEXIBILITY_THRESHOLD} types (instance-category / -size requirements rather than a list)")
            for p in pools if p.allows_spot and p.instance_types is not None and len(p.instance_types) < FLEXIBILITY_THRESHOLD]


def _consolidation_without_pdb(inv: Inventory, pools: list[NodePoolFacts]) -> list[Finding]:
    consolidating = [p for p in pools if p.consolidates_underutilized]
    if not consolidating:
        return []
    out = []
    budgets = inv.of_kind("PodDisruptionBudget")
    for d in inv.of_kind("Deployment"):
        replicas = (d.get("spec") or {}).get("replicas", 1)
        if any(is_karpenter(c) for c in containers(d)) or not isinstance(replicas, int) or replicas < 2:
            continue
        hosts = [p.name for p in consolidating if p.may_host(pod_spec(d).get("nodeSelector") or {})]
        if hosts and not any(selects((b.get("spec") or {}).get("selector") or {}, pod_labels(d)) for b in budgets):
            out.append(Finding("consolidation-without-pdb", Level.WARNING, name_of(d),
                               f"NodePool {', '.join(hosts)} consolidates underutilized nodes and no PodDisruptionBudget selects these pods",
                               "consolidation evicts pods of nodes it removes at any time, as many at once as it likes, on top of the Spot "
                               "interruptions", "add a PodDisruptionBudget, or set consolidationPolicy: WhenEmpty (or consolidateAfter: Never)"))
    return out

