"""PodDisruptionBudget arithmetic of the disruption controller and the eviction subresource (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cluster.kube_views import is_ready
from cluster.sim.kube.selectors import labels_match, selector_from_spec

pod_ready = is_ready  # the name the disruption and endpoint code reads


def pod_healthy(pod: dict[str, Any]) -> bool:
    """Counted as healthy by the disruption controller: Ready and not being deleted."""
    return pod_ready(pod) and not pod["metadata"].get("deletionTimestamp")


def pdb_selects(pdb: dict[str, Any], pod: dict[str, Any]) -> bool:
    if pdb["metadata"].get("namespace") != pod["metadata"].get("namespace"):
        return False
    sel = (pdb.get("spec") or {}).get("selector")
    if not sel:  # policy/v1: an empty selector selects every pod in the namespace
        return sel is not None
    return labels_match(selector_from_spec(sel), pod["metadata"].get("labels"))


def _scaled(value: int | str, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    pct = int(str(value).rstrip("%"))
    raw = pct * total / 100
    return math.ceil(raw) if round_up else math.floor(raw)


@dataclass(frozen=True)
class BudgetStatus:
    expected_pods: int
    current_healthy: int
    desired_healthy: int
    disruptions_allowed: int

    def as_status(self) -> dict[str, int]:
        return {
            "expectedPods": self.expected_pods,
            "currentHealthy": self.current_healthy,
            "desiredHealthy": self.desired_healthy,
            "disruptionsAllowed": self.disruptions_allowed,
        }


def budget_status(pdb: dict[str, Any], pods: list[dict[str, Any]], expected: int | None = None) -> BudgetStatus:
    """What the disruption controller computes; `expected` is the owners' scale (replicas), if known."""
    expected_pods = expected if expected is not None else len(pods)
    healthy = sum(1 for p in pods if pod_healthy(p))
    spec = pdb.get("spec") or {}
    if "maxUnavailable" in spec:
        max_unavailable = _scaled(spec["maxUnavailable"], expected_pods, round_up=True)
        desired = max(0, expected_pods - max_unavailable)
    elif "minAvailable" in spec:
        desired = _scaled(spec["minAvailable"], expected_pods, round_up=True)
    else:
        desired = expected_pods  # neither set: policy/v1 treats it as minAvailable 100%... but rejects at admission
    allowed = max(0, healthy - desired)
    return BudgetStatus(expected_pods, healthy, desired, allowed)


def eviction_ignores_budget(pod: dict[str, Any]) -> bool:
    """Pods already terminating, or Pending/Succeeded/Failed, are evicted without a budget check."""
    if pod["metadata"].get("deletionTimestamp"):
        return True
    return pod.get("status", {}).get("phase") in ("Pending", "Succeeded", "Failed")


def eviction_allowed(pdb: dict[str, Any], pod: dict[str, Any], status: BudgetStatus) -> bool:
    if status.disruptions_allowed > 0:
        return True
    # An unhealthy pod may go when the budget is met (IfHealthyBudget) or always (AlwaysAllow).
    if not pod_ready(pod):
        policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy", "IfHealthyBudget")
        if policy == "AlwaysAllow":
            return True
        return status.current_healthy >= status.desired_healthy
    return False
