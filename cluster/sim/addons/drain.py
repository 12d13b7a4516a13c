"""Draining a node through the Eviction API, as kubectl's drain helper does it (the helper NTH
embeds; EKS's managed node groups drain "using the Kubernetes API" the same way): every pod but
DaemonSet and mirror pods is evicted, a 429 (a PodDisruptionBudget says not now) is retried every
5 s, and the drain waits for the pods to be gone, until its deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cluster.sim.kube.errors import ApiError

EVICTION_RETRY_SECONDS = 5.0


async def evict_pods(api: Any, clock: Any, node_name: str, *, deadline: float, grace_period: int = -1, ignore_daemon_sets: bool = True,
                     real_period: Callable[[float], float]) -> tuple[bool, str]:
    """(drained, the problem when not).  `deadline` is on the cluster clock; `real_period` turns a
    pause in cluster seconds into the real seconds to sleep."""
    pod_rt = api.rt("Pod")
    on_node = [p for p in api.store.list(pod_rt, None, lambda p: p.get("spec", {}).get("nodeName") == node_name)]
    daemon = [p for p in on_node if any(o.get("kind") == "DaemonSet" for o in p["metadata"].get("ownerReferences") or [])]
    mirror = [p for p in on_node if "kubernetes.io/config.mirror" in (p["metadata"].get("annotations") or {})]
    if daemon and not ignore_daemon_sets:
        names = ", ".join(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in daemon)
        return False, f"cannot delete DaemonSet-managed Pods (use IGNORE_DAEMON_SETS): {names}"
    skip = {id(p) for p in daemon + mirror}
    pending = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in on_node if id(p) not in skip and p["status"].get("phase") not in ("Succeeded", "Failed")}
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction"}
    if grace_period >= 0:
        body["deleteOptions"] = {"gracePeriodSeconds": grace_period}
    evicted: set[tuple[str, str]] = set()
    while True:
        for ns, name in sorted(pending - evicted):
            try:
                api.evict(ns, name, {**body, "metadata": {"name": name, "namespace": ns}})
                evicted.add((ns, name))
            except ApiError as exc:
                if exc.code == 404:
                    evicted.add((ns, name))
                elif exc.code != 429:
                    return False, f"error when evicting pods/{name} -n {ns}: {exc}"
        gone = {k for k in pending if api.store.get(pod_rt, *k) is None}
        pending -= gone
        evicted -= gone
        if not pending:
            return True, ""
        if clock.timestamp() >= deadline:
            return False, f"global timeout reached; {len(pending)} pods still on the node"
        retry = EVICTION_RETRY_SECONDS if pending - evicted else 1.0
        await clock.sleep_real(real_period(min(retry, max(0.0, deadline - clock.timestamp())) or 0.1))
