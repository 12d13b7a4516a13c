"""The measured phase's pace put in place: on a simulator started with `speed: auto` the run sets
the clock's speed over its control API (GET/PUT /v1/clock); otherwise the speed stands and only
the traffic bucket follows it.  Journaled as a `pace` record (chaos/run/pace.py decides)."""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog

from chaos.errors import TargetError
from chaos.journal.records import PaceRecord
from chaos.run.context import RunContext
from chaos.run.pace import Pace, pace
from chaos.target import Connection

log = structlog.get_logger("run.pace")


async def _clock_call(control_url: str, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    url = control_url.rstrip("/") + ("/v1/clock/speed" if method == "PUT" else "/v1/clock")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async with session.request(method, url, json=body) as resp:
                data = await resp.json(content_type=None)
                if resp.status == 404:  # a simulator older than speed auto
                    return {}
                if resp.status >= 400:
                    raise TargetError(f"the simulator refused the clock speed: {data.get('error', resp.status)}")
                return dict(data)
    except aiohttp.ClientError as exc:
        raise TargetError(f"the simulator's control API at {control_url} cannot be reached: {exc}") from None
    except ValueError:  # not JSON: not the simulator's control API
        raise TargetError(f"the simulator's control API at {control_url} did not answer {method} /v1/clock with JSON") from None


async def provisioning_pace(ctx: RunContext, conn: Connection) -> None:
    """Under `speed: auto`, on a simulator that lets runs set its speed: provision at its start
    speed (a simulator kept running from an earlier run still has that run's measured speed)."""
    control = conn.endpoints.extra.get("control_url") if conn.endpoints.target == "local" else None
    if control is None or ctx.spec.target.fixed_speed is not None:
        return
    clock = await _clock_call(control, "GET")
    start = clock.get("start_speed")
    if clock.get("adjustable") and start and float(start) != float(clock.get("speed", 0)):
        await _clock_call(control, "PUT", {"speed": float(start), "reason": f"run {ctx.run_id}: provisioning, nothing real-time runs yet"})
        log.info("pace_provisioning", speed=start)


async def apply_pace(ctx: RunContext, conn: Connection) -> Pace:
    """Decide the pace, set the simulator's clock to it when the run may, journal it."""
    spec = ctx.spec
    control = conn.endpoints.extra.get("control_url") if conn.endpoints.target == "local" else None
    if control is None:  # EKS: real time
        chosen = pace(spec, 1.0)
        ctx.journal.write(PaceRecord(speed=1.0, bucket=chosen.bucket, bucket_cluster=chosen.bucket_cluster,
                                     requests_per_bucket=chosen.requests_per_bucket, auto=False, reason="real time (EKS)"))
        return chosen
    clock = await _clock_call(control, "GET")
    running = float(clock.get("speed", conn.speed))
    wanted = spec.target.fixed_speed
    if clock.get("adjustable"):  # started with `speed: auto`: the run sets the speed it measures at
        chosen = pace(spec, wanted)
        if chosen.speed != running:
            await _clock_call(control, "PUT", {"speed": chosen.speed, "reason": f"run {ctx.run_id}: {chosen.reason}"})
        record = PaceRecord(speed=chosen.speed, bucket=chosen.bucket, bucket_cluster=chosen.bucket_cluster, requests_per_bucket=chosen.requests_per_bucket,
                            auto=wanted is None, reason=chosen.reason, provision_speed=running if running != chosen.speed else None)
    else:
        chosen = pace(spec, running)
        if wanted is None:
            reason = f"speed {running:g}: the simulator runs at a fixed speed (start it with `--speed auto` to let runs choose)"
        elif wanted != running:
            reason = f"speed {running:g}: the simulator runs at a fixed speed (the experiment's {wanted:g} is for a simulator the run starts)"
        else:
            reason = chosen.reason
        record = PaceRecord(speed=running, bucket=chosen.bucket, bucket_cluster=chosen.bucket_cluster, requests_per_bucket=chosen.requests_per_bucket,
                            auto=False, reason=reason)
    ctx.journal.write(record)
    ctx.clock.speed = chosen.speed
    log.info("pace", speed=chosen.speed, bucket=chosen.bucket, reason=record.reason)
    return chosen
