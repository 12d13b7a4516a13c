"""The experiment's traffic: the open-loop load generator aimed at the service, each real second
of requests written to the journal as a `traffic` record (superseded while late answers come in)
with its outcomes by class and its latency histogram."""

from __future__ import annotations

import asyncio
from typing import Any

from chaos.clock import RunClock
from chaos.journal import Journal
from chaos.journal_records import RecordKind, TrafficRecord
from chaos.load.bodies import body_for
from chaos.load.engine import LoadEngine, clock
from chaos.load.profile import constant, ramp
from chaos.load.run import LoadSpec, run_load
from chaos.spec import Traffic

SETTLE_SECONDS = 1  # a second's record is first written once it is this far behind


class TrafficRun:
    def __init__(self, traffic: Traffic, url: str, journal: Journal, clock: RunClock, longest_cluster_seconds: float) -> None:
        real = max(1.0, clock.real_seconds(longest_cluster_seconds))
        profile = ramp(traffic.rate, traffic.ramp_to, real) if traffic.ramp_to else constant(traffic.rate, real)
        self.spec = LoadSpec(url, profile, body=body_for(traffic.body), timeout=traffic.timeout, per_second_histograms=True)
        self.journal = journal
        self.clock = clock
        self.stop = asyncio.Event()
        self._written: dict[int, tuple[int, int]] = {}
        self.summary: dict[str, Any] | None = None

    def _flush(self, engine: LoadEngine, final: bool = False) -> None:
        self._engine = engine
        # the engine's clock is time.perf_counter, CLOCK_MONOTONIC on Linux like the run clock's
        settled = clock() - engine.t0 - SETTLE_SECONDS
        for second, bucket in sorted(engine.recorder.buckets.items()):
            if not final and second + 1 > settled:
                continue
            signature = (bucket.total, bucket.latency_sum_us)
            if self._written.get(second) == signature:
                continue
            self._written[second] = signature
            d = bucket.as_dict()
            start = self.clock.at_monotonic(engine.t0 + second)
            record: TrafficRecord = {
                "second": second, "start_t": round(start, 3), "end_t": round(start + self.clock.speed, 3), "requests": d["requests"],
                "ok": d["ok"], "balancer_5xx": d["balancer_5xx"], "backend_5xx": d["backend_5xx"], "connection": d["connection"],
                "timeout": d["timeout"], "other": d["other"], "p99_ms": d["latency_p99_ms"], "max_ms": d["latency_max_ms"],
                "hist": bucket.encoded_histogram(),
            }
            self.journal.write(RecordKind.TRAFFIC, t=round(self.clock.at_monotonic(engine.t0 + second + 1), 3), **record)

    async def run(self) -> dict[str, Any]:
        self._engine: LoadEngine | None = None
        self.summary = await run_load(self.spec, stop=self.stop, progress_interval=0.5, on_flush=self._flush)
        if self._engine is not None:
            self._flush(self._engine, final=True)
        return self.summary
