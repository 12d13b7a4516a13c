"""kube-scheduler's decisions: filters, scores and the FailedScheduling message (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cluster.quantities import bytes_of, millicores

Obj = dict[str, Any]


@dataclass
class NodeInfo:
    name: str
    labels: dict[str, str]
    taints: list[dict[str, Any]]
    unschedulable: bool
    alloc_cpu: int
    alloc_mem: int
    alloc_pods: int
    used_cpu: int = 0
    used_mem: int = 0
    used_pods: int = 0
    pods_by_owner: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_node(cls, node: Obj) -> NodeInfo:
        alloc = node.get("status", {}).get("allocatable") or {}
        return cls(
            name=node["metadata"]["name"],
            labels=dict(node["metadata"].get("labels") or {}),
            taints=list(node.get("spec", {}).get("taints") or []),
            unschedulable=bool(node.get("spec", {}).get("unschedulable")),
            alloc_cpu=millicores(alloc.get("cpu", "0")),
            alloc_mem=bytes_of(alloc.get("memory", "0")),
            alloc_pods=int(alloc.get("pods", "110")),
        )


def pod_requests(pod: Obj) -> tuple[int, int]:
    cpu = mem = 0
    for c in pod.get("spec", {}).get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += millicores(req.get("cpu", 0))
        mem += bytes_of(req.get("memory", 0))
    return cpu, mem


def tolerates(tolerations: Sequence[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        op = t.get("operator", "Equal")
        if not t.get("key") and op == "Exists":
            return True
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def _expr_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expr["key"], expr["operator"], expr.get("values") or []
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present:
        try:
            a, b = int(labels[key]), int(values[0])
        except (ValueError, IndexError):
            return False
        return a > b if op == "Gt" else a < b
    return False


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against labels; an empty one matches everything."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expr_matches(e, labels) for e in selector.get("matchExpressions") or [])


def node_selector_matches(pod_spec: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms:
        return any(all(_expr_matches(e, labels) for e in term.get("matchExpressions") or []) for term in terms)
    return True


def static_reason(pod_spec: Mapping[str, Any], node: NodeInfo, *, daemon: bool = False) -> str | None:
    """Filters that do not depend on what runs on the node; None when the node passes."""
    if node.unschedulable and not daemon:
        unsched_tol = tolerates(pod_spec.get("tolerations") or [], {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
        if not unsched_tol:
            return "node(s) were unschedulable"
    if not node_selector_matches(pod_spec, node.labels):
        return "node(s) didn't match Pod's node affinity/selector"
    tolerations = pod_spec.get("tolerations") or []
    for taint in node.taints:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not tolerates(tolerations, taint):
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    return None


def pick_node(nodes: Mapping[str, NodeInfo], candidates: list[str], start: int, cpu: int, mem: int, owner: str | None, want: int, reasons: Counter[str],
              penalty: Mapping[str, float] | None = None) -> NodeInfo | None:
    """Filter by pods/cpu/memory and score (LeastAllocated: balanced free cpu and memory, minus a
    spread penalty per pod of the same owner, minus `penalty`: the ScheduleAnyway topology spread)
    the candidates from `start` round the list, stopping after `want` feasible nodes
    (percentageOfNodesToScore).  Failures are counted into `reasons`.  One pass, no calls per
    node: this is the scheduler's hot path."""
    n = len(candidates)
    found = 0
    best: NodeInfo | None = None
    best_score = float("-inf")
    for i in range(n):
        info = nodes.get(candidates[(start + i) % n])
        if info is None:
            continue
        if info.used_pods + 1 > info.alloc_pods:
            reasons["Too many pods"] += 1
            continue
        free_cpu = info.alloc_cpu - info.used_cpu - cpu
        if free_cpu < 0:
            reasons["Insufficient cpu"] += 1
            continue
        free_mem = info.alloc_mem - info.used_mem - mem
        if free_mem < 0:
            reasons["Insufficient memory"] += 1
            continue
        value = (free_cpu / (info.alloc_cpu or 1) + free_mem / (info.alloc_mem or 1)) * 50
        if owner:
            value -= info.pods_by_owner.get(owner, 0) * 10
        if penalty:
            value -= penalty.get(info.name, 0.0)
        if value > best_score:
            best, best_score = info, value
        found += 1
        if found >= want:
            break
    return best


def nodes_to_find(total: int) -> int:
    """kube-scheduler's adaptive percentageOfNodesToScore: at least 100 nodes, 50% - nodes/125 (min 5%)."""
    if total <= 100:
        return total
    pct = max(5, 50 - total // 125)
    return max(100, total * pct // 100)


def unschedulable_message(total: int, reasons: Counter[str]) -> str:
    parts = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
    return (
        f"0/{total} nodes are available: {parts}. preemption: 0/{total} nodes are available: "
        f"{total} Preemption is not helpful for scheduling."
    )
