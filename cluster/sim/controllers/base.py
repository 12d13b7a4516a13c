"""What every simulated controller shares: the context it runs in and a keyed work queue fed
by the store's events, like an informer + workqueue in client-go."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from cluster.sim.clock import SimClock
from cluster.sim.config import SimConfig
from cluster.sim.kube.api import KubeApi
from cluster.sim.kube.events import EventRecorder
from cluster.sim.kube.store import StoredEvent

if TYPE_CHECKING:
    from cluster.sim.aws.autoscaling import AutoScalingSim
    from cluster.sim.aws.moto_server import MotoServer

log = structlog.get_logger("sim.controllers")

SLICE = 0.005  # real seconds a controller may hold the loop before it yields


@dataclass
class SimContext:
    clock: SimClock
    api: KubeApi
    config: SimConfig
    moto: MotoServer | None = None
    autoscaling: AutoScalingSim | None = None

    def recorder(self, component: str, host: str | None = None) -> EventRecorder:
        return EventRecorder(self.api, component, host)


class Controller:
    """Reconciles keys put on its queue by store events, and all keys every `resync` cluster seconds."""

    name = "controller"
    kinds: tuple[str, ...] = ()
    resync: float | None = None
    min_real_period = 0.02  # never spin faster than this, whatever the clock speed
    coalesce = 0.01  # real seconds to let events pile up between passes (a workqueue's batching)

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.api = ctx.api
        self.clock = ctx.clock
        self._dirty: dict[Hashable, None] = {}
        self._wake = asyncio.Event()
        self._kind_keys = {ctx.api.rt(k).key for k in self.kinds}

    def on_event(self, ev: StoredEvent) -> None:
        if ev.resource.key not in self._kind_keys:
            return
        for key in self.keys_for(ev):
            self._dirty[key] = None
        if self._dirty:
            self._wake.set()

    def enqueue(self, key: Hashable) -> None:
        self._dirty[key] = None
        self._wake.set()

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        meta = ev.obj["metadata"]
        return [(meta.get("namespace", ""), meta["name"])]

    def all_keys(self) -> Iterable[Hashable]:
        return []

    def reconcile(self, key: Hashable) -> None:
        raise NotImplementedError

    def tick(self) -> None:
        """Work done on every resync besides reconciling all keys."""

    async def run(self) -> None:
        while True:
            timeout = None
            if self.resync is not None:
                timeout = max(self.min_real_period, self.clock.real_seconds(self.resync))
            try:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancel that comes as
                # the wake-up does, and the controller then outlived the simulator's stop
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                self.tick()
                for key in self.all_keys():
                    self._dirty[key] = None
            self._wake.clear()
            batch = list(self._dirty)
            self._dirty.clear()
            loop = asyncio.get_running_loop()
            slice_start = loop.time()
            for key in batch:
                try:
                    self.reconcile(key)
                except Exception:
                    log.exception("reconcile_failed", controller=self.name, key=str(key))
                if loop.time() - slice_start > SLICE:
                    await self.clock.sleep_real(0)  # let requests and watches through during big batches
                    slice_start = loop.time()
            await self.clock.sleep_real(self.coalesce)
