"""The taint eviction controller (kube-controller-manager's, formerly the NoExecute taint
manager): a pod on a node with a NoExecute taint it does not tolerate is deleted, one that
tolerates it for `tolerationSeconds` is deleted when they run out; an Event
TaintManagerEviction ("Marking for deletion Pod ns/name") says so.  The decision is
taint_eviction_plan.py.  Pods already terminating are left alone."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import structlog

from cluster.sim.clock import parse_time
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.taint_eviction_plan import NEVER, eviction_time
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.store import StoredEvent

log = structlog.get_logger("sim.taint_eviction")


class TaintEviction(Controller):
    name = "taint-eviction-controller"
    kinds = ("Node", "Pod")
    resync = 30.0  # a safety net: events and the tolerations' timers drive it

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.node_rt, self.pod_rt = ctx.api.rt("Node"), ctx.api.rt("Pod")
        self._first_seen: dict[tuple[str, str], float] = {}  # (node, taint key) -> when seen, for taints without timeAdded
        self._tainted: set[str] = set()  # nodes with a NoExecute taint, as the node events told
        self._due: dict[str, float] = {}  # node -> when its next toleration runs out (one timer each, not one per pass)

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key == self.node_rt.key:
            name = ev.obj["metadata"]["name"]
            if ev.type != "DELETED" and _no_execute(ev.obj):
                self._tainted.add(name)
                return [name]
            self._tainted.discard(name)
            return [name] if ev.old is not None and _no_execute(ev.old) else []
        node = (ev.obj.get("spec") or {}).get("nodeName")
        return [node] if node and ev.type != "DELETED" and node in self._tainted else []

    def all_keys(self) -> Iterable[Hashable]:
        self._tainted = {n["metadata"]["name"] for n in self.api.store.iter(self.node_rt) if _no_execute(n)}
        return list(self._tainted)

    def reconcile(self, key: Hashable) -> None:
        name = str(key)
        node = self.api.store.get(self.node_rt, "", name)
        taints = [t for t in ((node or {}).get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        now = self.clock.timestamp()
        added = {}
        for t in taints:
            k = str(t.get("key"))
            added[k] = parse_time(t["timeAdded"]) if t.get("timeAdded") else self._first_seen.setdefault((name, k), now)
        self._first_seen = {nk: at for nk, at in self._first_seen.items() if nk[0] != name or nk[1] in added}
        if not taints:
            return
        soonest = NEVER
        for pod in self.api.store.list(self.pod_rt, None, lambda p: (p.get("spec") or {}).get("nodeName") == name):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            due = eviction_time(pod["spec"].get("tolerations") or [], taints, added, now)
            if due <= now:
                self._evict(pod)
            else:
                soonest = min(soonest, due)
        if soonest != NEVER and not now < self._due.get(name, NEVER) <= soonest:  # no timer due by then yet
            self._due[name] = soonest
            self.clock.call_later(soonest - now, self._expire, name)

    def _expire(self, name: str) -> None:
        self._due.pop(name, None)
        self.enqueue(name)

    def _evict(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        try:
            self.api.delete(self.pod_rt, meta["namespace"], meta["name"])
        except ApiError:
            return  # gone meanwhile
        self.ctx.recorder("taint-eviction-controller").record(pod, "TaintManagerEviction", f"Marking for deletion Pod {meta['namespace']}/{meta['name']}")
        log.info("pod_evicted_by_taint", pod=meta["name"], namespace=meta["namespace"], node=pod["spec"].get("nodeName"))


def _no_execute(node: dict[str, Any]) -> bool:
    return any(t.get("effect") == "NoExecute" for t in (node.get("spec") or {}).get("taints") or [])
