"""EC2 forgets terminated instances about an hour after their termination: every minute of
cluster time, the instances seen terminated for longer than `terminated_instance_ttl` leave
moto's reservations and tags, so DescribeInstances stops returning them.  The decision is
cluster/sim/aws/instance_visibility.py."""

from __future__ import annotations

import structlog

from cluster.sim.aws.instance_visibility import expired
from cluster.sim.aws.moto_server import backend
from cluster.sim.controllers.base import Controller, SimContext

log = structlog.get_logger("sim.instance_expiry")

SWEEP_S = 60.0
RETRY_REAL_SECONDS = 0.05


class InstanceExpiry(Controller):
    name = "instance-expiry"
    kinds = ()
    resync = SWEEP_S

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.resync = min(SWEEP_S, ctx.config.terminated_instance_ttl / 4)
        self.region = ctx.config.region
        self._seen: dict[str, float] = {}  # instance id -> cluster time first seen terminated

    def tick(self) -> None:
        assert self.ctx.moto is not None
        lock = self.ctx.moto.lock
        if not lock.acquire(blocking=False):  # moto is answering a request: never block the loop on it
            self.clock.call_later(self.clock.speed * RETRY_REAL_SECONDS, self.tick)
            return
        try:
            ec2 = backend("ec2", self.region)
            terminated = [i.id for r in ec2.reservations.values() for i in r.instances if i.state == "terminated"]
            self._seen, forget = expired(self._seen, terminated, self.clock.timestamp(), self.ctx.config.terminated_instance_ttl)
            if forget:
                self._forget(ec2, set(forget))
        finally:
            lock.release()
        if forget:
            log.debug("terminated_instances_forgotten", count=len(forget))

    @staticmethod
    def _forget(ec2: object, ids: set[str]) -> None:
        reservations = ec2.reservations  # type: ignore[attr-defined]
        for rid in list(reservations):
            kept = [i for i in reservations[rid].instances if i.id not in ids]
            if kept:
                reservations[rid].instances = kept
            else:
                del reservations[rid]
        tags = ec2.tags  # type: ignore[attr-defined]
        for iid in ids:
            tags.pop(iid, None)
