"""One load run from a spec to a summary: preflight, the open-loop engine, live snapshots,
and a JSON-ready result that says whether the generator held its rate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chaos.load.engine import LoadEngine, LoadError, Target, clock, request_bytes
from chaos.load.profile import Profile
from chaos.load.stats import ERRORS, Outcome, Recorder, percentiles_ms

RATE_TOLERANCE = 0.01  # the achieved rate must be within 1% of the scheduled one
LATENESS_P99_LIMIT_MS = 10.0


@dataclass(frozen=True)
class LoadSpec:
    url: str
    profile: Profile
    body: bytes | None = None
    method: str | None = None
    timeout: float = 30.0
    max_connections: int = 2000
    per_second_histograms: bool = False  # a latency histogram per second (the harness's timeline)
    source: str | None = None  # the local address connections leave from (a load shard's pod IP)
    bucket: float = 1.0  # real seconds per measured bucket (chaos/load/stats.py)

    @property
    def http_method(self) -> str:
        return self.method or ("POST" if self.body is not None else "GET")


@dataclass(frozen=True)
class Snapshot:
    elapsed: float
    dispatched: int
    completed: int
    errors: int
    open_connections: int


class Measured(Protocol):
    """What a summary is made of: one engine's, or several workers' merged."""

    recorder: Recorder
    dispatched: int
    last_dispatch: float

    def generator_lateness_ms(self) -> dict[str, float]: ...


def summarize(spec: LoadSpec, engine: Measured) -> dict[str, Any]:
    rec = engine.recorder
    totals = rec.totals()
    completed = sum(totals.values())
    duration = spec.profile.duration
    achieved = engine.dispatched / max(duration, engine.last_dispatch) if duration else 0.0
    intended = spec.profile.total / duration if duration else 0.0
    lateness = engine.generator_lateness_ms()
    held = engine.dispatched == spec.profile.total and achieved >= intended * (1 - RATE_TOLERANCE) and lateness["p99"] <= LATENESS_P99_LIMIT_MS
    errors = sum(totals[o] for o in ERRORS)
    return {
        "url": spec.url,
        "method": spec.http_method,
        "duration_s": duration,
        "scheduled": spec.profile.total,
        "dispatched": engine.dispatched,
        "completed": completed,
        "intended_rps": round(intended, 2),
        "achieved_rps": round(achieved, 2),
        "rate_held": held,
        "generator_lateness_ms": lateness,
        "outcomes": {o.value: totals[o] for o in Outcome},
        "errors": errors,
        "error_rate": round(errors / completed, 6) if completed else 0.0,
        "statuses": {str(k): v for k, v in sorted(rec.statuses.items())},
        "latency_ms": percentiles_ms(rec.all_latency),
        "latency_ok_ms": percentiles_ms(rec.ok_latency),
        "per_second": [rec.buckets[s].as_dict() for s in sorted(rec.buckets)],
    }


async def run_load(spec: LoadSpec, on_progress: Callable[[Snapshot], None] | None = None, stop: asyncio.Event | None = None, progress_interval: float = 1.0,
                   on_flush: Callable[[LoadEngine], None] | None = None, share: tuple[int, int] = (0, 1), start_at: float | None = None) -> dict[str, Any]:
    """Run the load and return its summary.  Raises LoadError when the target cannot be reached.
    `on_flush` sees the engine after each fold of the measurements into per-second buckets;
    `share` and `start_at` make this one of several worker processes (chaos/load/workers.py)."""
    target = Target.parse(spec.url)
    engine = LoadEngine(target, spec.profile, request_bytes(target, spec.http_method, spec.body), timeout=spec.timeout, max_connections=spec.max_connections,
                        per_second_histograms=spec.per_second_histograms, share=share, start_at=start_at, source=spec.source,
                        bucket=spec.bucket)
    await engine.preflight()
    loop = asyncio.get_running_loop()
    task = loop.create_task(engine.run())

    async def watch() -> None:
        # the stop is acted on when it is set, not at the next progress tick
        stopping = loop.create_task(stop.wait()) if stop is not None else None
        try:
            while not task.done():
                await asyncio.wait({task} | ({stopping} if stopping is not None and not stopping.done() else set()),
                                   timeout=progress_interval, return_when=asyncio.FIRST_COMPLETED)
                if stop is not None and stop.is_set():
                    engine.stop()
                _progress()
        finally:
            if stopping is not None:
                stopping.cancel()

    def _progress() -> None:
        engine.recorder.flush()
        if on_flush is not None:
            on_flush(engine)
        if on_progress is not None:
            totals = engine.recorder.totals()
            on_progress(Snapshot(clock() - engine.t0, engine.dispatched, engine.completed_count, sum(totals[o] for o in ERRORS), len(engine.conns)))

    await asyncio.gather(task, watch())
    engine.recorder.flush()
    if on_flush is not None:
        on_flush(engine)
    return summarize(spec, engine)


__all__ = ["LoadError", "LoadSpec", "Snapshot", "run_load", "summarize"]
