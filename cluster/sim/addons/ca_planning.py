"""Cluster Autoscaler's scale-up decisions over node groups and pending pods (pure): which
pods a group's template node could hold, how many nodes each option needs (first-fit
decreasing, as the binpacking estimator), the expanders, and balancing across similar groups."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cluster.sim.controllers.scheduling import NodeInfo, pod_requests, static_reason

Obj = dict[str, Any]
# labels that differ between otherwise similar groups (balance-similar-node-groups ignores them)
BALANCE_IGNORED_LABELS = (
    "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone", "kubernetes.io/hostname",
    "eks.amazonaws.com/nodegroup", "alpha.eksctl.io/nodegroup-name", "eks.amazonaws.com/nodegroup-image",
    "nodegroup-under-test",
)


@dataclass
class NodeGroup:
    name: str
    min_size: int
    max_size: int
    target: int  # desired capacity
    template: NodeInfo
    backoff_until: float = 0.0


@dataclass
class Option:
    group: NodeGroup
    nodes: int
    pods: list[Obj] = field(default_factory=list)
    waste: float = 0.0


def fits_template(pod: Obj, template: NodeInfo) -> bool:
    if static_reason(pod.get("spec", {}), template) is not None:
        return False
    cpu, mem = pod_requests(pod)
    return cpu <= template.alloc_cpu and mem <= template.alloc_mem


def estimate(pods: Sequence[Obj], template: NodeInfo, limit: int) -> tuple[int, list[Obj], float]:
    """Nodes of `template` needed for `pods` (at most `limit`), the pods placed, and the waste
    (average free share of cpu and memory on those nodes)."""
    if limit <= 0:
        return 0, [], 0.0
    bins: list[list[int]] = []  # [cpu, mem, pods] used
    placed: list[Obj] = []
    for pod in sorted(pods, key=lambda p: pod_requests(p), reverse=True):
        cpu, mem = pod_requests(pod)
        for b in bins:
            if b[0] + cpu <= template.alloc_cpu and b[1] + mem <= template.alloc_mem and b[2] + 1 <= template.alloc_pods:
                b[0] += cpu
                b[1] += mem
                b[2] += 1
                placed.append(pod)
                break
        else:
            if len(bins) >= limit:
                continue
            bins.append([cpu, mem, 1])
            placed.append(pod)
    if not bins:
        return 0, [], 0.0
    free_cpu = sum(template.alloc_cpu - b[0] for b in bins) / (template.alloc_cpu * len(bins) or 1)
    free_mem = sum(template.alloc_mem - b[1] for b in bins) / (template.alloc_mem * len(bins) or 1)
    return len(bins), placed, (free_cpu + free_mem) / 2


def not_on_upcoming(groups: Sequence[NodeGroup], upcoming: dict[str, int], pending: Sequence[Obj]) -> tuple[list[Obj], bool]:
    """(the pending pods that nodes already on their way will not take, whether some will): pods
    that fit upcoming nodes are no reason to scale up again (CA's upcoming nodes in its snapshot)."""
    remaining = list(pending)
    waiting = False
    for g in groups:
        if upcoming.get(g.name, 0) > 0 and remaining:
            _, placed, _ = estimate([p for p in remaining if fits_template(p, g.template)], g.template, upcoming[g.name])
            ids = {id(p) for p in placed}
            waiting = waiting or bool(ids)
            remaining = [p for p in remaining if id(p) not in ids]
    return remaining, waiting


def options(groups: Sequence[NodeGroup], pods: Sequence[Obj], max_nodes_total: int, now: float) -> list[Option]:
    """Each group that can grow (not in backoff, under its max and the cluster's) with the nodes
    it would add for the pods that fit its template (CA's scale-up options, for the expander)."""
    total_nodes = sum(g.target for g in groups)
    out = []
    for g in groups:
        if g.backoff_until > now or g.target >= g.max_size:
            continue
        fitting = [p for p in pods if fits_template(p, g.template)]
        if not fitting:
            continue
        limit = g.max_size - g.target
        if max_nodes_total:
            limit = min(limit, max_nodes_total - total_nodes)
        count, placed, waste = estimate(fitting, g.template, limit)
        if count:
            out.append(Option(g, count, placed, waste))
    return out


def parse_priorities(text: str) -> dict[int, list[str]]:
    """The priority expander's ConfigMap `priorities` value: {priority: [group name regexes]}."""
    import yaml

    data = yaml.safe_load(text or "") or {}
    return {int(k): [str(r) for r in (v or [])] for k, v in data.items()}


def expand(options: list[Option], chain: Sequence[str], priorities: dict[int, list[str]], rng: random.Random) -> Option | None:
    """Apply the expanders in order, each narrowing the options; random breaks the last tie."""
    best = list(options)
    for name in chain:
        if len(best) <= 1:
            break
        if name == "least-waste":
            low = min(o.waste for o in best)
            best = [o for o in best if o.waste - low < 1e-9]
        elif name == "most-pods":
            top = max(len(o.pods) for o in best)
            best = [o for o in best if len(o.pods) == top]
        elif name == "priority":
            def prio(o: Option) -> int:
                found = [p for p, regexes in priorities.items() if any(re.fullmatch(r, o.group.name) for r in regexes)]
                return max(found) if found else -(2**31)

            top_p = max(prio(o) for o in best)
            best = [o for o in best if prio(o) == top_p]
        elif name == "price":  # no price list here: cheapest per node is approximated by the smallest node
            small = min(o.group.template.alloc_cpu for o in best)
            best = [o for o in best if o.group.template.alloc_cpu == small]
    return rng.choice(best) if best else None


def similar(a: NodeGroup, b: NodeGroup) -> bool:
    """balance-similar-node-groups: same allocatable (memory within 1.5%) and labels but the zone ones."""
    ta, tb = a.template, b.template
    if ta.alloc_cpu != tb.alloc_cpu or abs(ta.alloc_mem - tb.alloc_mem) > 0.015 * max(ta.alloc_mem, tb.alloc_mem):
        return False
    la = {k: v for k, v in ta.labels.items() if k not in BALANCE_IGNORED_LABELS}
    lb = {k: v for k, v in tb.labels.items() if k not in BALANCE_IGNORED_LABELS}
    return la == lb and sorted(str(t) for t in ta.taints) == sorted(str(t) for t in tb.taints)


def balance(groups: Sequence[NodeGroup], nodes: int) -> dict[str, int]:
    """Spread `nodes` over similar groups, each new node to the group with the smallest target."""
    targets = {g.name: g.target for g in groups}
    room = {g.name: g.max_size - g.target for g in groups}
    out: dict[str, int] = {}
    for _ in range(nodes):
        open_ = [n for n in targets if room[n] > 0]
        if not open_:
            break
        pick = min(open_, key=lambda n: (targets[n], n))
        targets[pick] += 1
        room[pick] -= 1
        out[pick] = out.get(pick, 0) + 1
    return out


def backoff_duration(failures: int, initial: float, maximum: float) -> float:
    """5, 10, 20, 30 min (cap) by default: doubling from the initial backoff."""
    return min(maximum, initial * (2 ** max(0, failures - 1)))
