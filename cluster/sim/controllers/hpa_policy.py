"""The Horizontal Pod Autoscaler's arithmetic (autoscaling/v2, CPU), as pkg/controller/podautoscaler
computes it: the replica count from utilization with the 10% tolerance and the treatment of
pods without metrics, the stabilization windows, and the scaling policies; pure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cluster.quantities import millicores

TOLERANCE = 0.1
DEFAULT_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
              "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}, {"type": "Pods", "value": 4, "periodSeconds": 15}]}
DEFAULT_DOWN = {"stabilizationWindowSeconds": 300, "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


@dataclass(frozen=True)
class PodSample:
    request: int  # millicores requested
    usage: int | None  # millicores used; None: no metrics yet
    ready: bool


def replicas_for_utilization(current: int, samples: list[PodSample], target_pct: float) -> tuple[int, int | None]:
    """(recommended replicas, observed utilization % of the pods with metrics)."""
    measured = [s for s in samples if s.usage is not None and s.ready]
    if not measured:
        return current, None
    used = sum(s.usage or 0 for s in measured)
    requested = sum(s.request for s in measured)
    if requested <= 0:
        return current, None
    util = used * 100 / requested
    ratio = util / target_pct
    missing = [s for s in samples if s.usage is None or not s.ready]
    if not missing:
        if abs(ratio - 1) <= TOLERANCE:
            return current, round(util)
        return math.ceil(ratio * len(measured)), round(util)
    avg_request = requested / len(measured)
    if ratio > 1:  # scale up: pods without metrics or not ready count as using nothing
        new_ratio = (used / ((requested + avg_request * len(missing)) or 1)) * 100 / target_pct
    else:  # scale down: pods without metrics count as using all they request; unready ones are ignored
        absent = [s for s in missing if s.ready]
        new_ratio = ((used + avg_request * len(absent)) / ((requested + avg_request * len(absent)) or 1)) * 100 / target_pct
        missing = absent
    if abs(new_ratio - 1) <= TOLERANCE or (ratio > 1) != (new_ratio > 1):
        return current, round(util)
    return math.ceil(new_ratio * (len(measured) + len(missing))), round(util)


def _rules(behavior: dict[str, Any] | None, direction: str) -> dict[str, Any]:
    base = DEFAULT_UP if direction == "scaleUp" else DEFAULT_DOWN
    given = (behavior or {}).get(direction) or {}
    return {**base, **{k: v for k, v in given.items() if v is not None}}


def stabilize(recommendation: int, current: int, history: list[tuple[float, int]], now: float, behavior: dict[str, Any] | None) -> int:
    """Scale up to the lowest, down to the highest recommendation within each direction's window."""
    up_window = float(_rules(behavior, "scaleUp")["stabilizationWindowSeconds"])
    down_window = float(_rules(behavior, "scaleDown")["stabilizationWindowSeconds"])
    up_vals = [r for t, r in history if now - t <= up_window] + [recommendation]
    down_vals = [r for t, r in history if now - t <= down_window] + [recommendation]
    result = current
    if min(up_vals) > current:
        result = min(up_vals)
    if max(down_vals) < current:
        result = max(down_vals)
    return result


def rate_limit(desired: int, current: int, changes: list[tuple[float, int]], now: float, behavior: dict[str, Any] | None) -> int:
    """Apply the scaling policies; `changes` are (time, replicas added, negative when removed)."""
    direction = "scaleUp" if desired > current else "scaleDown"
    if desired == current:
        return current
    rules = _rules(behavior, direction)
    if rules.get("selectPolicy") == "Disabled":
        return current
    limits = []
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds", 15))
        moved = sum(c for t, c in changes if now - t <= period)
        value = float(policy["value"])
        if direction == "scaleUp":
            start = current - max(0, moved)
            limits.append(start + value if policy["type"] == "Pods" else math.ceil(start * (1 + value / 100)))
        else:
            start = current - min(0, moved)
            limits.append(start - value if policy["type"] == "Pods" else math.ceil(start * (1 - value / 100)))
    if not limits:
        return desired
    if direction == "scaleUp":
        limit = max(limits) if rules.get("selectPolicy", "Max") == "Max" else min(limits)
        return int(min(desired, limit))
    limit = min(limits) if rules.get("selectPolicy", "Max") == "Max" else max(limits)
    return int(max(desired, limit))


def target_percent(target: dict[str, Any], samples: list[PodSample]) -> float:
    """The target as a utilization percentage of the pods' requests: averageUtilization (80 when
    absent), or an AverageValue turned into the share of the average request it is."""
    if target.get("type") == "AverageValue":
        per_pod = millicores(target.get("averageValue", "0"))
        avg_request = sum(s.request for s in samples) / (len(samples) or 1)
        return per_pod * 100 / (avg_request or 1)
    return float(target.get("averageUtilization", 80))


def conditions(recommended: int, desired: int, current: int, lo: int, hi: int) -> list[tuple[str, str, str, str]]:
    """The HPA's status conditions (type, status, reason, message) after a sync that found a metric."""
    out = [("AbleToScale", "True", "SucceededRescale" if desired != current else "ReadyForNewScale", "the HPA controller was able to update the target scale"),
           ("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)")]
    if recommended in (lo, hi) and recommended != current:
        out.append(("ScalingLimited", "True", "TooManyReplicas" if recommended == hi else "TooFewReplicas",
                    "the desired replica count is more than the maximum replica count" if recommended == hi else "the desired replica count is less than the minimum replica count"))
    else:
        out.append(("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range"))
    return out
