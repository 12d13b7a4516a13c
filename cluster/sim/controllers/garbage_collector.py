"""Garbage collection by ownerReferences (background propagation) and namespace termination."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.store import StoredEvent


class GarbageCollector(Controller):
    name = "garbage-collector"
    kinds = ()
    resync = 5.0

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}  # owner uid -> (resource key, ns, name)
        self._gone: dict[str, None] = {}
        self._terminating_ns: set[str] = set()
        ctx.api.store.add_listener(self._track)

    def _track(self, ev: StoredEvent) -> None:
        meta = ev.obj["metadata"]
        ident = (ev.resource.key, meta.get("namespace", ""), meta["name"])
        for ref in meta.get("ownerReferences") or []:
            deps = self._dependents.setdefault(ref["uid"], set())
            if ev.type == "DELETED":
                deps.discard(ident)
            else:
                deps.add(ident)
        if ev.type == "DELETED" and meta.get("uid") in self._dependents:
            self._gone[meta["uid"]] = None
            self.enqueue(("owner", meta["uid"]))
        if ev.resource.kind == "Namespace" and ev.type != "DELETED" and meta.get("deletionTimestamp"):
            self._terminating_ns.add(meta["name"])
            self.enqueue(("namespace", meta["name"]))
        elif ev.type == "DELETED" and meta.get("namespace") in self._terminating_ns:
            self.enqueue(("namespace", meta["namespace"]))

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        return []

    def all_keys(self) -> Iterable[Hashable]:
        return [("owner", uid) for uid in self._gone] + [("namespace", ns) for ns in self._terminating_ns]

    def reconcile(self, key: Hashable) -> None:
        what, ident = key  # type: ignore[misc]
        if what == "owner":
            self._collect(ident)
        else:
            self._terminate_namespace(ident)

    def _collect(self, uid: str) -> None:
        deps = self._dependents.pop(uid, set())
        self._gone.pop(uid, None)
        for res_key, ns, name in deps:
            rt = self.api.registry.by_key(res_key)
            obj = self.api.store.get(rt, ns, name)
            if obj is None:
                continue
            if not any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or []):
                continue
            try:
                self.api.delete(rt, ns, name)
            except ApiError:
                continue

    def _terminate_namespace(self, ns: str) -> None:
        remaining = 0
        for rt in self.api.registry.resources:
            if not rt.namespaced:
                continue
            for obj in self.api.store.list(rt, ns):
                remaining += 1
                if not obj["metadata"].get("deletionTimestamp"):
                    try:
                        self.api.delete(rt, ns, obj["metadata"]["name"])
                    except ApiError:
                        continue
        if remaining == 0:
            ns_rt = self.api.rt("Namespace")
            if self.api.store.get(ns_rt, "", ns) is not None:
                self.api.store.remove(ns_rt, "", ns)
            self._terminating_ns.discard(ns)
