"""The API server's Event TTL as a sweep: every minute of cluster time, the Events last written
more than `event_ttl` ago are deleted (watchers see them DELETED, as when etcd's lease expires).
The decision is cluster/sim/kube/event_ttl.py."""

from __future__ import annotations

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.event_ttl import expired

SWEEP_S = 60.0


class EventExpiry(Controller):
    name = "event-ttl"
    kinds = ()
    resync = SWEEP_S

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.rt = ctx.api.rt("Event")
        self.resync = min(SWEEP_S, ctx.config.event_ttl / 4)

    def tick(self) -> None:
        for namespace, name in expired(list(self.api.store.iter(self.rt)), self.clock.timestamp(), self.ctx.config.event_ttl):
            try:
                self.api.delete(self.rt, namespace, name)
            except ApiError:
                pass  # gone meanwhile
