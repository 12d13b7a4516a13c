"""When the taint eviction controller deletes a pod from a node with NoExecute taints (pure).
Source: kubernetes pkg/controller/tainteviction/taint_eviction.go (processPodOnNode,
getMinTolerationTime) and the "Taints and Tolerations" concept page: a pod that does not tolerate
every NoExecute taint of its node is deleted at once; one that tolerates them all stays as long
as the shortest `tolerationSeconds` among the tolerations that match (counted from when the
taint was added), forever when none of them sets it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cluster.sim.controllers.scheduling import tolerates

NEVER = float("inf")


def _matching(tolerations: Sequence[Mapping[str, Any]], taint: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in tolerations if tolerates([t], taint)]


def eviction_time(tolerations: Sequence[Mapping[str, Any]], taints: Sequence[Mapping[str, Any]], added: Mapping[str, float], now: float) -> float:
    """The cluster time at which the pod is to be deleted: `now` for a NoExecute taint it does not
    tolerate, else the earliest taint-added + tolerationSeconds, NEVER without a limit.  `added`
    holds each taint's time added by its key (the controller's first sight of it when the taint
    carries none)."""
    due = NEVER
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        matching = _matching(tolerations, taint)
        if not matching:
            return now
        limits = [float(t["tolerationSeconds"]) for t in matching if t.get("tolerationSeconds") is not None]
        if limits:
            due = min(due, added.get(str(taint.get("key")), now) + max(0.0, min(limits)))
    return due
