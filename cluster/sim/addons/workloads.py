"""Finding an add-on's workloads and running pods in the simulated cluster by container image,
the way the simulator recognises NTH and Cluster Autoscaler manifests (pure over objects)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cluster.sim.kube.disruption import pod_ready


def containers_with_image(workload: dict[str, Any], mark: str) -> list[dict[str, Any]]:
    spec = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [c for c in spec.get("containers") or [] if mark in str(c.get("image", ""))]


def selects(workload: dict[str, Any], pod: dict[str, Any]) -> bool:
    wanted = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = pod["metadata"].get("labels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def running_pods(workload: dict[str, Any], pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workload's pods that are running, ready and not being deleted."""
    ns = workload["metadata"]["namespace"]
    return [
        p for p in pods
        if p["metadata"].get("namespace") == ns and selects(workload, p) and not p["metadata"].get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") == "Running" and pod_ready(p)
    ]
