"""The simulator's control API (real HTTP on loopback, its URL in endpoints.json as
`extra.control_url`): the hooks a real account has no API for — notices put straight on an
instance's metadata (the local stand-in for deploying amazon-ec2-metadata-mock), a reclaim
without FIS, where each instance's metadata service listens, and the clock's speed (a simulator
started with `speed: auto` takes the speed a run needs)."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cluster.clock_speed import MAX_SPEED, MIN_SPEED
from cluster.settings_files import first_problem
from cluster.sim.clock import SimClock
from cluster.sim.config import AUTO_START_SPEED
from cluster.sim.controllers.kubelet import Kubelets
from cluster.sim.spot.interruptions import ACTIONS, InterruptionError, Interruptions
from cluster.sim.spot.metadata_service import MetadataService

log = structlog.get_logger("sim.control")


class SpotNotice(BaseModel):
    """POST /v1/instances/{id}/spot-interruption"""

    model_config = ConfigDict(extra="forbid")
    seconds_before_interruption: float = Field(120.0, ge=120, le=900, description="As FIS's durationBeforeInterruption: the notice comes 120 s before the end.")
    rebalance: bool = Field(False, description="Send a rebalance recommendation first (as FIS does).")
    reclaim: bool = Field(False, description="Really take the instance at the end; false: the notice only, as amazon-ec2-metadata-mock gives.")
    action: str = Field("terminate", pattern="^(" + "|".join(ACTIONS) + ")$")
    owner: str | None = Field(None, max_length=200, description="Who gave the notice (a harness run id), listed back by GET /v1/instances.")


class ScheduledEvent(BaseModel):
    """POST /v1/instances/{id}/scheduled-event"""

    model_config = ConfigDict(extra="forbid")
    code: str = Field("system-reboot", pattern="^(instance-reboot|system-reboot|system-maintenance|instance-retirement|instance-stop)$")
    not_before_seconds: float = Field(600.0, ge=0)
    duration_seconds: float = Field(3600.0, gt=0)


class ClockSpeed(BaseModel):
    """PUT /v1/clock/speed"""

    model_config = ConfigDict(extra="forbid")
    speed: float = Field(ge=MIN_SPEED, le=MAX_SPEED, description="Cluster seconds per real second from now on.")
    reason: str = Field("", max_length=500, description="Why (logged): the run's bound, say.")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class ControlApi:
    def __init__(self, kubelets: Kubelets, metadata: MetadataService, interruptions: Interruptions, clock: SimClock,
                 speed_adjustable: bool = False) -> None:
        self.kubelets = kubelets
        self.metadata = metadata
        self.interruptions = interruptions
        self.clock, self.speed_adjustable = clock, speed_adjustable
        app = web.Application()
        app.router.add_get("/v1/clock", self._clock)
        app.router.add_put("/v1/clock/speed", self._set_speed)
        app.router.add_get("/v1/instances", self._instances)
        app.router.add_post("/v1/instances/{id}/spot-interruption", self._spot)
        app.router.add_delete("/v1/instances/{id}/spot-interruption", self._withdraw)
        app.router.add_post("/v1/instances/{id}/rebalance-recommendation", self._rebalance)
        app.router.add_post("/v1/instances/{id}/scheduled-event", self._scheduled)
        app.router.add_post("/v1/instances/{id}/reclaim", self._reclaim)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        self.url = ""

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _body(self, request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
        try:
            raw: Any = await request.json() if request.can_read_body else {}
        except ValueError:
            return _error(400, "the request body must be a JSON object")
        try:
            return model.model_validate(raw or {})
        except ValidationError as exc:
            field, message, _ = first_problem(exc)
            return _error(400, f"field '{field}': {message}")

    def _clock_state(self) -> dict[str, Any]:
        c = self.clock
        return {"speed": c.speed, "adjustable": self.speed_adjustable, "start_speed": AUTO_START_SPEED if self.speed_adjustable else c.speed,
                "effective_speed": round(c.effective_speed, 3),
                "stalled_seconds": round(c.stalled_total, 3), "now": c.micro_isoformat()}

    async def _clock(self, request: web.Request) -> web.Response:
        return web.json_response(self._clock_state())

    async def _set_speed(self, request: web.Request) -> web.Response:
        if not self.speed_adjustable:
            return _error(409, f"this simulator runs at a fixed speed {self.clock.speed:g}: start it with `--speed auto` "
                               "(or `speed: auto` in its config) to let runs set the speed")
        body = await self._body(request, ClockSpeed)
        if isinstance(body, web.Response):
            return body
        assert isinstance(body, ClockSpeed)
        before = self.clock.speed
        self.clock.set_speed(body.speed)
        log.info("clock_speed_set", speed=body.speed, was=before, reason=body.reason)
        return web.json_response(self._clock_state())

    async def _instances(self, request: web.Request) -> web.Response:
        out = []
        for agent in self.kubelets.agents.values():
            info = agent.instance
            out.append({
                "instance_id": info.instance_id, "node": agent.name, "instance_type": info.instance_type, "az": info.az,
                "spot": info.spot, "alive": agent.alive, "node_address": agent.loopback, "metadata_url": self.metadata.url(info.instance_id),
                "notice": self.interruptions.shows_notice(info.instance_id), "notice_owner": self.interruptions.owner_of(info.instance_id),
            })
        return web.json_response({"instances": out})

    async def _spot(self, request: web.Request) -> web.Response:
        body = await self._body(request, SpotNotice)
        if isinstance(body, web.Response):
            return body
        assert isinstance(body, SpotNotice)
        iid = request.match_info["id"]
        already = self.interruptions.interruption_time(iid)
        if already is not None:  # EC2 gives an instance one interruption notice; a second one would never reach NTH
            return _error(409, f"instance '{iid}' already has a Spot interruption notice (interruption at {already}); EC2 sends one per "
                               f"interruption: DELETE /v1/instances/{iid}/spot-interruption withdraws it before another")
        noticed_at = self.clock.timestamp()
        try:
            plan = self.interruptions.interrupt(request.match_info["id"], body.seconds_before_interruption,
                                                rebalance=body.rebalance, reclaim=body.reclaim, action=body.action, owner=body.owner)
        except InterruptionError as exc:
            return _error(409, str(exc))
        return web.json_response({"instance_id": plan.instance_id, "interruption_time": self.interruptions.clock.isoformat(plan.deadline),
                                  "noticed_at": self.clock.micro_isoformat(noticed_at), "reclaim": body.reclaim, "steps_done": plan.done}, status=201)

    async def _withdraw(self, request: web.Request) -> web.Response:
        """DELETE: clear the instance's notices and cancel its pending reclaim (a harness rollback)."""
        cleared = self.interruptions.withdraw(request.match_info["id"])
        return web.json_response({"instance_id": request.match_info["id"], "cleared": cleared})

    async def _rebalance(self, request: web.Request) -> web.Response:
        noticed_at = self.clock.timestamp()
        try:
            self.interruptions.rebalance(request.match_info["id"])
        except InterruptionError as exc:
            return _error(409, str(exc))
        return web.json_response({"instance_id": request.match_info["id"], "noticed_at": self.clock.micro_isoformat(noticed_at)}, status=201)

    async def _scheduled(self, request: web.Request) -> web.Response:
        body = await self._body(request, ScheduledEvent)
        if isinstance(body, web.Response):
            return body
        assert isinstance(body, ScheduledEvent)
        iid = request.match_info["id"]
        meta = self.metadata.get(iid)
        if meta is None:
            return _error(404, f"instance '{iid}' has no running metadata service")
        clock = self.interruptions.clock
        start = clock.after(body.not_before_seconds)
        fmt = "%d %b %Y %H:%M:%S GMT"
        from datetime import UTC, datetime

        event = {
            "NotBefore": datetime.fromtimestamp(start, UTC).strftime(fmt),
            "Code": body.code,
            "Description": f"The instance is scheduled for {body.code}",
            "EventId": f"instance-event-{abs(hash((iid, start))) % 16**17:017x}",
            "NotAfter": datetime.fromtimestamp(start + body.duration_seconds, UTC).strftime(fmt),
            "State": "active",
        }
        meta.scheduled.append(event)
        return web.json_response(event, status=201)

    async def _reclaim(self, request: web.Request) -> web.Response:
        if not self.interruptions.reclaim(request.match_info["id"]):
            return _error(409, f"instance '{request.match_info['id']}' is not running")
        return web.json_response({"instance_id": request.match_info["id"]}, status=201)
