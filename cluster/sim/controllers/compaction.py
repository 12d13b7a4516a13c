"""etcd compaction as kube-apiserver's compactor runs it (--etcd-compaction-interval, 5 minutes,
EKS's setting): every interval of cluster time, history up to the version seen at the previous
interval goes, so a watch or an exact list from before it gets 410 Expired and clients relist,
as informers do on EKS.  The store keeps the versions (ObjectStore.compact)."""

from __future__ import annotations

import structlog

from cluster.sim.controllers.base import Controller, SimContext

log = structlog.get_logger("sim.compaction")

INTERVAL_S = 300.0


class Compaction(Controller):
    name = "compaction"
    kinds = ()
    resync = INTERVAL_S

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.resync = ctx.config.compaction_interval

    def tick(self) -> None:
        log.debug("compacted", resource_version=self.api.store.compact())
