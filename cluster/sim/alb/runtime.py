"""What moto's ELBv2 lacks: target health that follows real health checks and deregistration
delays, served by DescribeTargetHealth, and the state the ALB data plane routes by.

moto keeps the load balancers, listeners and target groups; registrations go through moto
(RegisterTargets/DeregisterTargets, from the controller or any boto3 caller) and are mirrored
here.  Health checks are real HTTP requests to the targets, every `HealthCheckIntervalSeconds`
of cluster time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog
from moto.elbv2.models import ELBv2Backend, FakeHealthStatus

from cluster.components.lbc import matches_codes
from cluster.sim.alb.target_health import (
    CheckResult,
    TargetGroupHealth,
    TargetHealth,
    TargetKey,
)
from cluster.sim.aws.moto_patches import MotoPatches
from cluster.sim.clock import SimClock

log = structlog.get_logger("sim.alb")

AddressOf = Callable[[str], str | None]  # target id -> loopback address (instance -> node, ip -> itself)


@dataclass
class GroupSettings:
    arn: str
    target_type: str
    port: int
    path: str
    hc_port: str
    interval: float
    timeout: float
    healthy: int
    unhealthy: int
    matcher: str
    dereg_delay: float

    @classmethod
    def of(cls, tg: Any) -> GroupSettings:
        return cls(
            arn=tg.arn,
            target_type=tg.target_type,
            port=int(tg.port or 80),
            path=tg.health_check_path or "/",
            hc_port=str(tg.health_check_port or "traffic-port"),
            interval=float(tg.health_check_interval_seconds or 30),
            timeout=float(tg.health_check_timeout_seconds or 5),
            healthy=int(tg.healthy_threshold_count or 5),
            unhealthy=int(tg.unhealthy_threshold_count or 2),
            matcher=(tg.matcher or {}).get("HttpCode", "200"),
            dereg_delay=float(tg.attributes.get("deregistration_delay.timeout_seconds", 300)),
        )


@dataclass
class GroupRuntime:
    settings: GroupSettings
    health: TargetGroupHealth = field(default_factory=TargetGroupHealth)
    routable: list[TargetHealth] = field(default_factory=list)
    cursor: int = 0
    inflight: dict[TargetKey, set[Any]] = field(default_factory=dict)  # requests in flight (each with cancel())
    checkers: dict[TargetKey, asyncio.Task[None]] = field(default_factory=dict)

    def refresh(self) -> None:
        self.routable = self.health.routable()

    def pick(self) -> TargetHealth | None:
        targets = self.routable
        if not targets:
            return None
        self.cursor = (self.cursor + 1) % len(targets)
        return targets[self.cursor]


class AlbRuntime:
    def __init__(self, clock: SimClock, lock: threading.RLock, address_of: AddressOf) -> None:
        self.clock = clock
        self.lock = lock
        self.address_of = address_of
        self.groups: dict[str, GroupRuntime] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None

    # ---- moto ---------------------------------------------------------------------------
    def install(self, loop: asyncio.AbstractEventLoop, patches: MotoPatches) -> None:
        self.loop = loop
        rt = self
        orig_register, orig_deregister = ELBv2Backend.register_targets, ELBv2Backend.deregister_targets
        orig_delete = ELBv2Backend.delete_target_group

        def register_targets(backend: ELBv2Backend, arn: str, instances: list[dict[str, Any]]) -> None:
            orig_register(backend, arn, instances)
            rt._registered(backend.target_groups[arn], instances)

        def deregister_targets(backend: ELBv2Backend, arn: str, instances: list[dict[str, Any]]) -> None:
            tg = backend.target_groups.get(arn)
            ports = {t["Id"]: int(t.get("Port") or (tg.targets.get(t["Id"]) or {}).get("Port") or tg.port) for t in instances} if tg else {}
            if tg is not None:
                # moto moves a terminated instance's target aside on its own; AWS keeps it registered
                # until someone deregisters it, which then succeeds
                for t in instances:
                    if t["Id"] not in tg.targets and t["Id"] in tg.terminated_targets:
                        tg.deregistered_targets[t["Id"]] = tg.terminated_targets.pop(t["Id"])
                instances = [t for t in instances if t["Id"] in tg.targets or t["Id"] not in tg.deregistered_targets]
            if instances:
                orig_deregister(backend, arn, instances)
            rt._deregistered(tg, ports)

        def describe_target_health(backend: ELBv2Backend, arn: str, targets: list[dict[str, Any]]) -> list[FakeHealthStatus]:
            from moto.elbv2.exceptions import TargetGroupNotFoundError

            tg = backend.target_groups.get(arn)
            if tg is None:
                raise TargetGroupNotFoundError()
            group = rt.groups.get(arn)
            wanted = [(t["Id"], int(t.get("Port") or tg.port)) for t in targets or []]
            rows = group.health.describe(wanted) if group else [] if not wanted else TargetGroupHealth().describe(wanted)
            return [
                FakeHealthStatus(r["Target"]["Id"], r["Target"]["Port"], r["HealthCheckPort"], r["TargetHealth"]["State"], r["TargetHealth"].get("Reason"), r["TargetHealth"].get("Description"))  # type: ignore[index, call-overload]
                for r in rows
            ]

        def delete_target_group(backend: ELBv2Backend, arn: str) -> Any:
            out = orig_delete(backend, arn)
            group = rt.groups.pop(arn, None)
            if group is not None:
                rt._call_in_loop(rt._stop_group, group)
            return out

        patches.replace(ELBv2Backend, "register_targets", register_targets)
        patches.replace(ELBv2Backend, "deregister_targets", deregister_targets)
        patches.replace(ELBv2Backend, "describe_target_health", describe_target_health)
        patches.replace(ELBv2Backend, "delete_target_group", delete_target_group)

    def _call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def group(self, tg: Any) -> GroupRuntime:
        group = self.groups.get(tg.arn)
        if group is None:
            group = self.groups[tg.arn] = GroupRuntime(GroupSettings.of(tg))
        else:
            group.settings = GroupSettings.of(tg)
        return group

    def _registered(self, tg: Any, instances: list[dict[str, Any]]) -> None:
        group = self.group(tg)
        for t in instances:
            target = group.health.register(t["Id"], int(t.get("Port") or tg.port))
            self._call_in_loop(self._start_checks, group, target)
        group.refresh()

    def _deregistered(self, tg: Any, ports: dict[str, int]) -> None:
        if tg is None:
            return
        group = self.group(tg)
        now = self.clock.timestamp()
        for tid, port in ports.items():
            t = group.health.deregister(tid, port, now, group.settings.dereg_delay)
            if t is not None:
                self._call_in_loop(self._schedule_drain_end, group, (tid, port), group.settings.dereg_delay)
        group.refresh()

    # ---- event loop side ----------------------------------------------------------------
    def _schedule_drain_end(self, group: GroupRuntime, key: TargetKey, delay: float) -> None:
        task = group.checkers.pop(key, None)
        if task is not None:
            task.cancel()
        self.clock.call_later(delay, self._drain_end, group, key)

    def _drain_end(self, group: GroupRuntime, key: TargetKey) -> None:
        with self.lock:
            gone = group.health.expire(self.clock.timestamp() + 1e-6)
            group.refresh()
        for t in gone:
            cut = group.inflight.pop((t.target_id, t.port), set())
            for request in list(cut):
                request.cancel()
            if cut:
                log.info("alb_drain_cut", target=t.target_id, requests=len(cut))

    def _start_checks(self, group: GroupRuntime, target: TargetHealth) -> None:
        key = (target.target_id, target.port)
        old = group.checkers.pop(key, None)
        if old is not None:
            old.cancel()
        assert self.loop is not None
        group.checkers[key] = self.loop.create_task(self._check_loop(group, target))

    def _stop_group(self, group: GroupRuntime) -> None:
        for task in group.checkers.values():
            task.cancel()
        group.checkers.clear()

    def target_address(self, group: GroupRuntime, target: TargetHealth, health: bool = False) -> tuple[str, int] | None:
        """Where the ALB sends a target's traffic (or its health checks): the node's address for an
        instance target, the pod's for an ip target; None when the target is nowhere."""
        address = self.address_of(target.target_id)
        if address is None:
            return None
        port = target.port
        if health and group.settings.hc_port not in ("traffic-port", ""):
            port = int(group.settings.hc_port)
        return address, port

    def target_url(self, group: GroupRuntime, target: TargetHealth, path: str, health: bool = False) -> str | None:
        address = self.target_address(group, target, health)
        return None if address is None else f"http://{address[0]}:{address[1]}{path}"

    async def check(self, group: GroupRuntime, target: TargetHealth) -> CheckResult:
        s = group.settings
        url = self.target_url(group, target, s.path, health=True)
        timeout = self.clock.real_timeout(s.timeout)
        if url is None:
            await self.clock.sleep_real(timeout)
            return CheckResult(False, "Target.Timeout")
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0))
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=timeout), headers={"User-Agent": "ELB-HealthChecker/2.0"}) as resp:
                await resp.read()
                if matches_codes(s.matcher, resp.status):
                    return CheckResult(True)
                return CheckResult(False, "Target.ResponseCodeMismatch", resp.status)
        except TimeoutError:
            return CheckResult(False, "Target.Timeout")
        except (aiohttp.ClientError, OSError):
            return CheckResult(False, "Target.FailedHealthChecks")

    async def _check_loop(self, group: GroupRuntime, target: TargetHealth) -> None:
        await self.clock.sleep(min(1.0, group.settings.interval))  # the first check follows registration
        while target.state != "draining":
            # checks start every HealthCheckIntervalSeconds whatever each took ("the approximate amount of
            # time between health checks of an individual target"; the timeout is shorter than the interval)
            started = self.clock.elapsed()
            result = await self.check(group, target)
            with self.lock:
                if target.state == "draining" or group.health.targets.get((target.target_id, target.port)) is not target:
                    return
                changed = target.record(result, group.settings.healthy, group.settings.unhealthy)
                if changed:
                    group.refresh()
            if changed:
                log.info("target_health", target_group=group.settings.arn.rsplit("/", 2)[-2], target=target.target_id, port=target.port, state=target.state, reason=target.reason)
            await self.clock.sleep(max(0.0, group.settings.interval - (self.clock.elapsed() - started)))

    async def stop(self) -> None:
        for group in self.groups.values():
            self._stop_group(group)
        if self._session is not None:
            await self._session.close()
            self._session = None
