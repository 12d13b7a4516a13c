"""The scheduler: binds pending pods to nodes (filters, scores), and says why when it cannot."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import orjson
import structlog

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.ownership import controller_uid
from cluster.sim.controllers.pod_affinity import Affinity, Placed
from cluster.sim.controllers.preemption import Room, Running, choose, may_preempt
from cluster.sim.controllers.scheduling import (
    NodeInfo,
    nodes_to_find,
    pick_node,
    pod_requests,
    static_reason,
    unschedulable_message,
)
from cluster.sim.controllers.topology_spread import Spread
from cluster.sim.kube.store import StoredEvent

log = structlog.get_logger("sim.scheduler")


class Scheduler(Controller):
    name = "default-scheduler"
    kinds = ("Pod", "Node")
    resync = 15.0

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.pod_rt = ctx.api.rt("Pod")
        self.events = ctx.recorder(self.name)
        self.nodes: dict[str, NodeInfo] = {}
        self._bound: dict[tuple[str, str], tuple[str, int, int, str | None]] = {}
        self._pending: dict[tuple[str, str], None] = {}
        self._unschedulable: dict[tuple[str, str], str] = {}
        self._spread_blocked: set[tuple[str, str]] = set()  # unschedulable pods with spread constraints: a pod placed in their namespace may unblock them
        self._affinity_blocked: set[tuple[str, str]] = set()  # unschedulable pods with pod (anti-)affinity: any pod placed or gone may unblock them
        self._pod_terms: set[tuple[str, str]] = set()  # bound pods with pod (anti-)affinity terms: every incoming pod is checked against them
        self._node_gen = 0
        self._static: dict[bytes, tuple[int, list[str], Counter[str]]] = {}
        self._cursor = 0
        self._lowest_bound_priority = 0  # the lowest priority a pod was bound with: no pod at or below it can preempt (kept off the hot path)
        ctx.api.store.add_listener(self._track)

    # ---- cache of the cluster, kept by the store's events --------------------------------
    def _track(self, ev: StoredEvent) -> None:
        if ev.resource.key == "nodes":
            name = ev.obj["metadata"]["name"]
            if ev.type == "DELETED":
                self.nodes.pop(name, None)
            else:
                fresh = NodeInfo.from_node(ev.obj)
                old = self.nodes.get(name)
                if old is not None:
                    fresh.used_cpu, fresh.used_mem, fresh.used_pods, fresh.pods_by_owner = old.used_cpu, old.used_mem, old.used_pods, old.pods_by_owner
                    if (old.labels, old.taints, old.unschedulable, old.alloc_cpu) == (fresh.labels, fresh.taints, fresh.unschedulable, fresh.alloc_cpu):
                        self.nodes[name] = fresh
                        return
                self.nodes[name] = fresh
            self._node_gen += 1
            self._retry_unschedulable()
        elif ev.resource.key == "pods":
            meta = ev.obj["metadata"]
            key = (meta["namespace"], meta["name"])
            node = ev.obj.get("spec", {}).get("nodeName")
            if ev.type == "DELETED":
                self._pending.pop(key, None)
                self._unschedulable.pop(key, None)
                self._pod_terms.discard(key)
                self._unbind(key)
                self._retry_unschedulable()
                return
            if node:
                self._pending.pop(key, None)
                self._unschedulable.pop(key, None)
                if key not in self._bound:
                    self._retry_spread(key[0])
                    if _has_pod_terms(ev.obj["spec"]):
                        self._pod_terms.add(key)
                    cpu, mem = pod_requests(ev.obj)
                    owner = controller_uid(ev.obj)
                    self._bound[key] = (node, cpu, mem, owner)
                    self._lowest_bound_priority = min(self._lowest_bound_priority, int(ev.obj["spec"].get("priority") or 0))
                    info = self.nodes.get(node)
                    if info is not None:
                        info.used_cpu += cpu
                        info.used_mem += mem
                        info.used_pods += 1
                        if owner:
                            info.pods_by_owner[owner] += 1
            elif not meta.get("deletionTimestamp") and ev.obj["spec"].get("schedulerName", "default-scheduler") == "default-scheduler":
                self._pending[key] = None

    def _unbind(self, key: tuple[str, str]) -> None:
        entry = self._bound.pop(key, None)
        if entry is None:
            return
        node, cpu, mem, owner = entry
        info = self.nodes.get(node)
        if info is not None:
            info.used_cpu -= cpu
            info.used_mem -= mem
            info.used_pods -= 1
            if owner:
                info.pods_by_owner[owner] -= 1

    def _retry_spread(self, ns: str) -> None:
        waiting = [k for k in self._spread_blocked if k[0] == ns and k in self._unschedulable]
        waiting += [k for k in self._affinity_blocked if k in self._unschedulable]
        self._spread_blocked = {k for k in self._spread_blocked if k in self._unschedulable}
        self._affinity_blocked = {k for k in self._affinity_blocked if k in self._unschedulable}
        for key in waiting:
            self._dirty[key] = None
        if waiting:
            self._wake.set()

    def _retry_unschedulable(self) -> None:
        for key in self._unschedulable:
            self._dirty[key] = None
        if self._unschedulable:
            self._wake.set()

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key != "pods" or ev.type == "DELETED":
            return []
        meta = ev.obj["metadata"]
        key = (meta["namespace"], meta["name"])
        return [key] if key in self._pending else []

    def all_keys(self) -> Iterable[Hashable]:
        return list(self._pending)

    # ---- decisions -------------------------------------------------------------------------
    def _static_candidates(self, spec: dict[str, Any]) -> tuple[list[str], Counter[str]]:
        sig = orjson.dumps([spec.get("nodeSelector"), spec.get("affinity"), spec.get("tolerations")], option=orjson.OPT_SORT_KEYS)
        cached = self._static.get(sig)
        if cached is not None and cached[0] == self._node_gen:
            return cached[1], cached[2]
        ok: list[str] = []
        reasons: Counter[str] = Counter()
        for name, info in self.nodes.items():
            r = static_reason(spec, info)
            if r is None:
                ok.append(name)
            else:
                reasons[r] += 1
        if len(self._static) > 256:
            self._static.clear()
        self._static[sig] = (self._node_gen, ok, reasons)
        return ok, reasons

    def reconcile(self, key: Hashable) -> None:
        ns, name = key  # type: ignore[misc]
        pod = self.api.store.get(self.pod_rt, ns, name)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return
        spec = pod["spec"]
        candidates, reasons = self._static_candidates(spec)
        reasons = Counter(reasons)
        penalty: dict[str, float] = {}
        spread = Spread.of(pod, self.nodes, self._placed(ns)) if spec.get("topologySpreadConstraints") else None
        if spread is not None:
            candidates = self._filtered(spread.filter_reason, candidates, reasons)
            penalty = spread.penalties(self.nodes, candidates)
        affinity = self._affinity(pod) if _has_pod_terms(spec) or self._pod_terms else None
        if affinity is not None:
            candidates = self._filtered(affinity.filter_reason, candidates, reasons)
            for name, p in affinity.penalties(self.nodes, candidates).items():
                penalty[name] = penalty.get(name, 0.0) + p
        cpu, mem = pod_requests(pod)
        owner = controller_uid(pod)
        want = nodes_to_find(len(self.nodes))
        start = self._cursor % len(candidates) if candidates else 0
        self._cursor += 1
        best = pick_node(self.nodes, candidates, start, cpu, mem, owner, want, reasons, penalty)
        if best is None and candidates and int(spec.get("priority") or 0) > self._lowest_bound_priority:
            self._preempt(pod, candidates, cpu, mem)  # room made by evicting lower-priority pods: the pod is placed once they are gone
        if best is None:
            if spread is not None:
                self._spread_blocked.add(key)  # type: ignore[arg-type]
            if affinity is not None:
                self._affinity_blocked.add(key)  # type: ignore[arg-type]
            message = unschedulable_message(len(self.nodes), reasons)
            if self._unschedulable.get(key) != message:
                self._unschedulable[key] = message
                self._mark_unschedulable(pod, message)
            return
        self.api.bind_pod(pod, best.name)
        self.events.record(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {best.name}")

    def _preempt(self, pod: dict[str, Any], candidates: list[str], cpu: int, mem: int) -> None:
        """DefaultPreemption (preemption.py): the victims evicted gracefully, each told why, and the
        pod nominated to their node."""
        priority = int(pod["spec"].get("priority") or 0)
        wanted = set(candidates)
        by_node: dict[str, list[Running]] = {}
        for (ns, name), (node, p_cpu, p_mem, _) in self._bound.items():
            if node in wanted:
                bound = self.api.store.get(self.pod_rt, ns, name)
                if bound is not None:
                    by_node.setdefault(node, []).append(Running(ns, name, int(bound["spec"].get("priority") or 0), p_cpu, p_mem,
                                                                bool(bound["metadata"].get("deletionTimestamp"))))
        if not may_preempt(pod["spec"].get("preemptionPolicy"), (pod.get("status") or {}).get("nominatedNodeName"), by_node, priority):
            return
        rooms = {n: Room(i.alloc_cpu, i.alloc_mem, i.alloc_pods, i.used_cpu, i.used_mem, i.used_pods) for n in candidates if (i := self.nodes.get(n))}
        picked = choose(rooms, by_node, priority, cpu, mem)
        if picked is None:
            return
        node, victims = picked
        meta = pod["metadata"]
        for v in victims:
            victim = self.api.store.get(self.pod_rt, v.namespace, v.name)
            if victim is not None:
                self.events.record(victim, "Preempted", f"Preempted by pod {meta.get('uid')} on node {node}")
                self.api.delete(self.pod_rt, v.namespace, v.name)

        def nominate(p: dict[str, Any]) -> None:
            p.setdefault("status", {})["nominatedNodeName"] = node

        self.api.mutate(self.pod_rt, meta["namespace"], meta["name"], nominate)
        log.info("scheduler_preempted", pod=f"{meta['namespace']}/{meta['name']}", node=node, victims=[f"{v.namespace}/{v.name}" for v in victims])

    def _placed(self, ns: str) -> list[tuple[str, dict[str, str]]]:
        """(node, labels) of the namespace's pods bound to a node and not terminating: what spread constraints count."""
        return [(p["spec"]["nodeName"], p["metadata"].get("labels") or {}) for p in self.api.store.list(self.pod_rt, ns)
                if p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp")]

    def _affinity(self, pod: dict[str, Any]) -> Affinity | None:
        """The pod's affinity state: over every live bound pod when it has terms of its own, else
        over the bound pods that have terms (theirs may keep it away)."""
        keys = list(self._bound) if _has_pod_terms(pod["spec"]) else list(self._pod_terms)
        placed = []
        for ns, name in keys:
            p = self.api.store.get(self.pod_rt, ns, name)
            if p is not None and p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp"):
                placed.append(Placed(p["spec"]["nodeName"], ns, p["metadata"].get("labels") or {}, p["spec"]))
        ns_rt = self.api.rt("Namespace")
        return Affinity.of(pod, self.nodes, placed, functools.cache(lambda: {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in self.api.store.iter(ns_rt)}))

    def _filtered(self, reason_of: Callable[[NodeInfo], str | None], candidates: list[str], reasons: Counter[str]) -> list[str]:
        kept = []
        for name in candidates:
            info = self.nodes.get(name)
            why = reason_of(info) if info is not None else None
            if why is None:
                kept.append(name)
            else:
                reasons[why] += 1
        return kept

    def _mark_unschedulable(self, pod: dict[str, Any], message: str) -> None:
        now = self.clock.isoformat()

        def change(p: dict[str, Any]) -> None:
            conds = [c for c in p.setdefault("status", {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastProbeTime": None, "lastTransitionTime": now})
            p["status"]["conditions"] = conds

        self.api.mutate(self.pod_rt, pod["metadata"]["namespace"], pod["metadata"]["name"], change)
        self.events.record(pod, "FailedScheduling", message, "Warning")


def _has_pod_terms(spec: dict[str, Any]) -> bool:
    affinity = spec.get("affinity") or {}
    return bool(affinity.get("podAffinity") or affinity.get("podAntiAffinity"))
