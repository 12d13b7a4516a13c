"""A DaemonSet's rolling update, decided (pure): which old pods to delete now.  As the
DaemonSet controller's RollingUpdate with maxSurge 0 (pkg/controller/daemon/update.go): a node
counts as unavailable while it has no ready pod; old pods are deleted, unavailable ones first,
while the unavailable nodes stay within maxUnavailable (an int or a percentage of the desired
nodes, rounded up, at least 1 when both are 0); OnDelete deletes nothing."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"


def max_unavailable(strategy: Mapping[str, Any] | None, desired: int) -> int:
    ru = (strategy or {}).get("rollingUpdate") or {}
    raw = ru.get("maxUnavailable", 1)
    if isinstance(raw, str) and raw.endswith("%"):
        value = math.ceil(desired * float(raw[:-1]) / 100)
    else:
        value = int(raw)
    surge = ru.get("maxSurge", 0)
    return max(value, 1) if value == 0 and surge in (0, "0", "0%") else value


def pods_to_delete(strategy: Mapping[str, Any] | None, current_hash: str, by_node: Mapping[str, Sequence[dict[str, Any]]],
                   ready: Mapping[str, bool], desired: int) -> list[dict[str, Any]]:
    """`by_node`: each wanted node's active pods; `ready[name]`: whether the pod is ready."""
    if (strategy or {}).get("type") == "OnDelete":
        return []
    limit = max_unavailable(strategy, desired)
    unavailable = sum(1 for pods in by_node.values() if not any(ready[p["metadata"]["name"]] for p in pods))
    old = [p for pods in by_node.values() for p in pods if (p["metadata"].get("labels") or {}).get(HASH_LABEL) != current_hash]
    out = []
    for pod in sorted(old, key=lambda p: ready[p["metadata"]["name"]]):  # the unavailable ones first: deleting them costs nothing
        if not ready[pod["metadata"]["name"]]:
            out.append(pod)
        elif unavailable < limit:
            out.append(pod)
            unavailable += 1
    return out
