"""The experiment's traffic: the open-loop load generator aimed at the service, each bucket (a real
second, or less when the cluster's clock runs fast: chaos/run/pace.py) of requests written to the
journal as a `traffic` record (superseded while late answers come in)
with its outcomes by class and its latency histogram.  The load runs here (one process, or
`workers` processes) or on the cluster as shards (`placement: cluster`); the records are the same."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from chaos.clock import RunClock
from chaos.journal import Journal
from chaos.journal.records import TrafficRecord
from chaos.load.bodies import body_for
from chaos.load.engine import LoadEngine, clock
from chaos.load.profile import Profile, Segment, constant, ramp
from chaos.load.run import LoadSpec, run_load
from chaos.load.stats import Bucket
from chaos.load.workers import run_load_workers_live
from chaos.observe.cluster_traffic import ClusterTraffic, ShardPlacement
from chaos.spec import Traffic

SETTLE_SECONDS = 1  # a bucket's record is first written once it is this many real seconds behind
DILATION_ROOM = 4.0  # a run schedules its load for this many times its nominal real length


class TrafficRun:
    def __init__(self, traffic: Traffic, url: str, journal: Journal, clock: RunClock, longest_cluster_seconds: float,
                 placement: ShardPlacement | None = None, room: float = 1.0, bucket: float = 1.0) -> None:
        """`room`: schedule the load for this many times its nominal real length, holding its last
        rate, for a run whose cluster clock may slow down (it stands still while the simulator is
        starved); such a run stops the load itself when it is done with it."""
        real = max(1.0, clock.real_seconds(longest_cluster_seconds))
        shaped = ramp(traffic.rate, traffic.ramp_to, real) if traffic.ramp_to else constant(traffic.rate, real)
        end_rate = shaped.segments[-1].rate_end
        profile = Profile((*shaped.segments, Segment(real, real * room, end_rate, end_rate))) if room > 1 else shaped
        self.spec = LoadSpec(url, profile, body=body_for(traffic.body), timeout=traffic.timeout, per_second_histograms=True, bucket=bucket)
        self.bucket = bucket
        self.journal = journal
        self.clock = clock
        self.stop = asyncio.Event()
        self._written: dict[int, tuple[int, int]] = {}
        self._live: dict[int, Bucket] = {}  # with workers: the merged seconds so far
        self.workers = traffic.workers
        self.summary: dict[str, Any] | None = None
        self.cluster: ClusterTraffic | None = None
        if traffic.placement == "cluster":
            assert placement is not None, "placement: cluster needs the cluster to put the shards on"
            self.cluster = ClusterTraffic(traffic, self.spec, journal, clock, placement, self._flush_workers)

    async def ready(self) -> None:
        """Until the load is about to start: at once locally; on the cluster, once the shards'
        Job runs and its t=0 has come."""
        if self.cluster is None:
            return
        t0 = await self.cluster.start()
        await self.clock.sleep_real(max(0.0, t0 - clock()))

    def _flush_engine(self, engine: LoadEngine) -> None:
        self._engine = engine
        self._flush(engine.t0, engine.recorder.buckets)

    def _flush_workers(self, t0: float, changed: Mapping[int, Bucket]) -> None:
        self._live.update(changed)
        self._flush(t0, self._live)

    def _flush(self, t0: float, buckets: Mapping[int, Bucket], final: bool = False) -> None:
        """Write each settled second whose numbers changed (every second, when `final`).  `t0` is
        the schedule's start on the engine's clock (time.perf_counter: CLOCK_MONOTONIC on Linux,
        like the run clock's)."""
        settled = clock() - t0 - SETTLE_SECONDS
        width = self.bucket
        for second, bucket in sorted(buckets.items()):
            if not final and (second + 1) * width > settled:
                continue
            signature = (bucket.total, bucket.latency_sum_us)
            if self._written.get(second) == signature:
                continue
            self._written[second] = signature
            d = bucket.as_dict()
            start, end = self.clock.at_monotonic(t0 + second * width), self.clock.at_monotonic(t0 + (second + 1) * width)
            record = TrafficRecord(
                second=second, start_t=round(start, 3), end_t=round(end, 3), requests=d["requests"],
                ok=d["ok"], balancer_5xx=d["balancer_5xx"], backend_5xx=d["backend_5xx"], connection=d["connection"],
                timeout=d["timeout"], other=d["other"], p99_ms=d["latency_p99_ms"], max_ms=d["latency_max_ms"],
                hist=bucket.encoded_histogram(), late=d["late"], late_max_ms=d["late_max_ms"],
            )
            self.journal.write(record, t=round(end, 3))

    async def run(self) -> dict[str, Any]:
        if self.cluster is not None:  # shards on the cluster: merged from their logs as they report
            self.summary = await self.cluster.run(self.stop)
            self._flush(self.cluster.t0, self.cluster.merged.recorder.buckets, final=True)
            return self.summary
        if self.workers > 1:  # several processes: their per-second numbers merged as they report them
            self.summary, t0, buckets = await run_load_workers_live(self.spec, self.workers, self.stop, self._flush_workers)
            self._flush(t0, buckets, final=True)
            return self.summary
        self._engine: LoadEngine | None = None
        self.summary = await run_load(self.spec, stop=self.stop, progress_interval=0.5, on_flush=self._flush_engine)
        if self._engine is not None:
            self._flush(self._engine.t0, self._engine.recorder.buckets, final=True)
        return self.summary
