"""Disruption controller: keeps each PodDisruptionBudget's status (healthy, allowed disruptions) current."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.kube.disruption import pdb_selects
from cluster.sim.kube.store import StoredEvent


class DisruptionController(Controller):
    name = "disruption-controller"
    kinds = ("PodDisruptionBudget", "Pod")
    resync = 30.0

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.pdb_rt = ctx.api.rt("PodDisruptionBudget")

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key == self.pdb_rt.key:
            if ev.type == "DELETED" or (ev.old is not None and ev.old.get("spec") == ev.obj.get("spec")):
                return []
            return [(ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])]
        ns = ev.obj["metadata"]["namespace"]
        return [
            (ns, p["metadata"]["name"])
            for p in self.api.store.list(self.pdb_rt, ns)
            if pdb_selects(p, ev.obj) or (ev.old is not None and pdb_selects(p, ev.old))
        ]

    def all_keys(self) -> Iterable[Hashable]:
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.api.store.iter(self.pdb_rt)]

    def reconcile(self, key: Hashable) -> None:
        ns, name = key  # type: ignore[misc]
        pdb = self.api.store.get(self.pdb_rt, ns, name)
        if pdb is None:
            return
        computed = self.api.budget_status(pdb).as_status()
        computed["observedGeneration"] = pdb["metadata"].get("generation", 1)
        now = self.clock.isoformat()
        current = pdb.get("status") or {}
        if all(current.get(k) == v for k, v in computed.items()):
            return
        ok = computed["currentHealthy"] >= computed["desiredHealthy"]

        def change(o: dict) -> None:
            st = o.setdefault("status", {})
            st.update(computed)
            st.pop("disruptedPods", None)
            st["conditions"] = [{
                "type": "DisruptionAllowed",
                "status": "True" if computed["disruptionsAllowed"] > 0 else "False",
                "reason": "SufficientPods" if ok else "InsufficientPods",
                "message": "",
                "observedGeneration": computed["observedGeneration"],
                "lastTransitionTime": now,
            }]

        self.api.mutate(self.pdb_rt, ns, name, change)
