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
    pending, problem = pods_to_evict(api.store.list(pod_rt, None, lambda p: p.get("spec", {}).get("nodeName") == node_name), ignore_daemon_sets)
    if problem:
        return False, problem
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction"}
    if grace_period >= 0:
        body["deleteOptions"] = {"gracePeriodSeconds": grace_period}
    evicted: set[tuple[str, str]] = set()
    while True:
        problem = _evict_round(api, sorted(pending - evicted), body, evicted)
        if problem:
            return False, problem
        gone = {k for k in pending if api.store.get(pod_rt, *k) is None}
        pending -= gone
        evicted -= gone
        if not pending:
            return True, ""
        if clock.timestamp() >= deadline:
            return False, f"global timeout reached; {len(pending)} pods still on the node"
        retry = EVICTION_RETRY_SECONDS if pending - evicted else 1.0
        await clock.sleep_real(real_period(min(retry, max(0.0, deadline - clock.timestamp())) or 0.1))


def pods_to_evict(on_node: list[dict[str, Any]], ignore_daemon_sets: bool) -> tuple[set[tuple[str, str]], str]:
    """The (namespace, name) of the node's pods a drain evicts, and the problem that stops it: every
    pod but DaemonSet and mirror pods and those already finished; DaemonSet pods stop a drain that
    does not ignore them (kubectl drain's --ignore-daemonsets)."""
    daemon = [p for p in on_node if any(o.get("kind") == "DaemonSet" for o in p["metadata"].get("ownerReferences") or [])]
    if daemon and not ignore_daemon_sets:
        names = ", ".join(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in daemon)
        return set(), f"cannot delete DaemonSet-managed Pods (use IGNORE_DAEMON_SETS): {names}"
    mirror = [p for p in on_node if "kubernetes.io/config.mirror" in (p["metadata"].get("annotations") or {})]
    skip = {id(p) for p in daemon + mirror}
    return {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in on_node
            if id(p) not in skip and p["status"].get("phase") not in ("Succeeded", "Failed")}, ""


def _evict_round(api: Any, pods: list[tuple[str, str]], body: dict[str, Any], evicted: set[tuple[str, str]]) -> str:
    """One eviction of each pod not yet evicted; a 429 (a budget says not now) is tried again next
    round, a 404 is done; any other error stops the drain (its message)."""
    for ns, name in pods:
        try:
            api.evict(ns, name, {**body, "metadata": {"name": name, "namespace": ns}})
            evicted.add((ns, name))
        except ApiError as exc:
            if exc.code == 404:
                evicted.add((ns, name))
            elif exc.code != 429:
                return f"error when evicting pods/{name} -n {ns}: {exc}"
    return ""
