"""The experiment's load on the cluster (`traffic.placement: cluster`): an Indexed Job of load
shards (chaos/load/shard_job.py), each read through its pod's log as `kubectl logs -f` reads it
(the same on EKS and on the simulator), merged second by second into the journal exactly as
local traffic is.

A shard whose pod or node goes away before it reported its end is lost: its share of the load
stops there, which the harness records (`shard_lost`) and the `load-shards-held` check reports;
what it did not send is never counted as the service's errors.  Stopping the load suspends the
Job: the shards get SIGTERM, stop sending and report what they measured."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from chaos.clock import RunClock, monotonic_at_wall, wall_seconds
from chaos.journal import Journal
from chaos.journal.records import ShardLostRecord, ShardsRecord
from chaos.kube import load_jobs
from chaos.load.engine import LoadError
from chaos.load.run import LoadSpec, summarize
from chaos.load.shard import LiveMerge, final_part, parse_line
from chaos.load.shard_job import CONTAINER, load_job, shard_args
from chaos.load.stats import Bucket, Recorder
from chaos.load.workers import Merged
from chaos.spec import Traffic
from chaos.undo.log import Stage, UndoOp
from chaos.undo.writer import UndoWriter

log = structlog.get_logger("chaos.cluster_traffic")

SILENT_LIMIT_S = 10.0  # a shard that reports nothing this long while it should be sending is looked at
FINAL_WAIT_S = 20.0  # after the stop: how long the shards have to report their end


@dataclass
class Shard:
    index: int
    pod: str | None = None
    node: str | None = None
    last_heard: float = 0.0  # real time (the engine's clock)
    last_second: int | None = None
    done: bool = False  # reported its end
    lost: bool = False
    follower: threading.Thread | None = None


@dataclass
class ShardPlacement:
    """What the run gives the load to put it on the cluster."""

    api_client: Any
    namespace: str
    run_id: str
    undo: UndoWriter
    start_delay: float  # real seconds from the Job to t=0


@dataclass
class ClusterTraffic:
    traffic: Traffic
    spec: LoadSpec
    journal: Journal
    clock: RunClock
    where: ShardPlacement
    on_buckets: Callable[[float, dict[int, Bucket]], None]
    shards: list[Shard] = field(default_factory=list)
    t0: float = 0.0  # the schedule's start on the engine's clock
    start_at: float = 0.0  # ... as Unix time

    def __post_init__(self) -> None:
        n = self.traffic.shards
        self.shards = [Shard(i) for i in range(n)]
        self.merge = LiveMerge(n, self.spec.per_second_histograms)
        self.merged = Merged(Recorder(self.spec.per_second_histograms, self.spec.bucket))
        self.messages: asyncio.Queue[tuple[int, dict[str, Any] | None]] = asyncio.Queue()
        self.stopping = False
        self.errors: list[str] = []

    # ---------------------------------------------------------------- start
    async def start(self) -> float:
        """Create the Job and wait for every shard's pod to run; returns t0 on the engine's clock."""
        self.start_at = wall_seconds() + self.where.start_delay
        self.t0 = monotonic_at_wall(self.start_at)
        profile = self.spec.profile
        args = shard_args(self.spec.url, self.traffic.rate, self.traffic.ramp_to, profile.duration, self.traffic.body, self.spec.timeout,
                          self.traffic.shards, self.start_at, self.spec.bucket)
        job = load_job(self.where.run_id, self.where.namespace, self.traffic.image, args, self.traffic.shards, self.traffic.shard_nodes)
        self.job_name = job["metadata"]["name"]
        number = self.where.undo.intent(f"create load Job {self.where.namespace}/{self.job_name}", UndoOp.DELETE_LOAD_JOB, Stage.SETUP,
                                        namespace=self.where.namespace, job=self.job_name)
        await asyncio.to_thread(load_jobs.create_job, self.where.api_client, self.where.namespace, job)
        self.where.undo.done(number, job=self.job_name)
        await self._wait_running()
        self.journal.write(ShardsRecord(job=self.job_name, namespace=self.where.namespace, shards=self.traffic.shards, pods={str(s.index): s.pod or "" for s in self.shards}, nodes={str(s.index): s.node or "" for s in self.shards}, start_at=round(self.start_at, 3)))
        return self.t0

    async def _wait_running(self) -> None:
        deadline = self.start_at - 0.5
        while True:
            pods = await asyncio.to_thread(load_jobs.job_pods, self.where.api_client, self.where.namespace, self.job_name)
            for p in pods:
                if 0 <= p.index < len(self.shards) and p.phase == "Running":
                    self.shards[p.index].pod, self.shards[p.index].node = p.name, p.node
            waiting = [s.index for s in self.shards if s.pod is None]
            if not waiting:
                return
            if wall_seconds() >= deadline:
                pending = [f"{p.name}: {p.phase}{p.waiting}" for p in pods if p.phase != "Running"]
                raise LoadError(f"load shards {waiting} of Job {self.job_name} were not running {self.where.start_delay:g}s after it was "
                                f"created (traffic.shard_start): {'; '.join(pending) or 'no pods yet'}")
            await self.clock.sleep_real(0.25)

    # ---------------------------------------------------------------- follow
    def _follow(self, shard: Shard, loop: asyncio.AbstractEventLoop) -> None:
        """Read a shard's log as `kubectl logs -f` does, handing each report to the loop."""
        assert shard.pod is not None
        try:
            for line in load_jobs.follow_log(self.where.api_client, self.where.namespace, shard.pod, CONTAINER):
                message = parse_line(line)
                if message is not None and not self._hand(loop, shard.index, message):
                    return
        except Exception as exc:  # noqa: BLE001 - the stream broke: the pod or its node went; judged by the watcher
            log.info("shard_log_ended", shard=shard.index, error=f"{type(exc).__name__}: {exc}")
        self._hand(loop, shard.index, None)

    def _hand(self, loop: asyncio.AbstractEventLoop, index: int, message: dict[str, Any] | None) -> bool:
        """Give a report to the run's loop; False once the run is over (its loop closed)."""
        try:
            loop.call_soon_threadsafe(self.messages.put_nowait, (index, message))
        except RuntimeError:
            return False
        return True

    def _take(self, index: int, message: dict[str, Any] | None, now: float) -> None:
        shard = self.shards[index]
        if message is None:
            if not shard.done and not self.stopping:
                self._lost(shard, "its log ended before it reported its end")
            return
        shard.last_heard = now
        if "live" in message and not shard.lost:
            seconds = [int(k) for k in message["live"]]
            shard.last_second = max([shard.last_second or 0, *seconds])
            self.on_buckets(self.t0, self.merge.update(index, message["live"]))
        elif "final" in message and not shard.done and not shard.lost:  # a lost shard's seconds are already in (`_lost`)
            shard.done = True
            self.merged.add(final_part(message["final"]))
        elif "error" in message:
            self.errors.append(f"shard {index}: {message['error']}")

    def _lost(self, shard: Shard, reason: str) -> None:
        if shard.lost or shard.done:
            return
        shard.lost = True
        self.journal.write(ShardLostRecord(index=shard.index, share=round(1 / len(self.shards), 4), pod=shard.pod or "", node=shard.node, reason=reason, last_second=shard.last_second))
        log.warning("shard_lost", shard=shard.index, pod=shard.pod, node=shard.node, reason=reason)
        # what it measured before it was lost stays in the per-second numbers
        self.merged.recorder.merge({"buckets": {str(s): e for s, e in self.merge.latest[shard.index].items()}, "ok": "", "all": "", "statuses": {}})

    async def _watch(self) -> None:
        """A shard silent too long while it should be sending: its pod gone, failed, or its node
        gone or not Ready, it is lost."""
        end = self.t0 + self.spec.profile.duration
        while True:
            await self.clock.sleep_real(1.0)
            now = _engine_now()
            if now >= end or self.stopping:  # at the end the shards stop and their pods go: not a loss
                return
            for shard in self.shards:
                if shard.done or shard.lost or now - max(shard.last_heard, self.t0) < SILENT_LIMIT_S / 2:
                    continue
                assert shard.pod is not None
                why = await asyncio.to_thread(load_jobs.why_gone, self.where.api_client, self.where.namespace, shard.pod, shard.node)
                if self.stopping or shard.done:
                    return
                if why is not None or now - max(shard.last_heard, self.t0) >= SILENT_LIMIT_S:
                    self._lost(shard, why or f"silent for {SILENT_LIMIT_S:g}s")

    # ---------------------------------------------------------------- run
    async def run(self, stop: asyncio.Event) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        for shard in self.shards:
            shard.last_heard = _engine_now()
            shard.follower = threading.Thread(target=self._follow, args=(shard, loop), name=f"shard-log-{shard.index}", daemon=True)
            shard.follower.start()
        watcher = loop.create_task(self._watch())
        stopper = loop.create_task(self._stop_when(stop))
        try:
            while not all(s.done or s.lost for s in self.shards):
                index, message = await self.messages.get()
                self._take(index, message, _engine_now())
                if self.errors:
                    raise LoadError(self.errors[0])
        finally:
            watcher.cancel()
            stopper.cancel()
        summary = summarize(self.spec, self.merged)
        return {**summary, "shards": len(self.shards), "shards_lost": [s.index for s in self.shards if s.lost]}

    async def _stop_when(self, stop: asyncio.Event) -> None:
        """The run's stop: suspend the Job (SIGTERM to every shard), then give them time to report."""
        await stop.wait()
        self.stopping = True
        try:
            await asyncio.to_thread(load_jobs.suspend_job, self.where.api_client, self.where.namespace, self.job_name)
        except Exception as exc:  # noqa: BLE001 - the shards end with their schedule anyway; the rollback deletes the Job
            log.warning("load_job_suspend_failed", job=self.job_name, error=f"{type(exc).__name__}: {exc}")
        await self.clock.sleep_real(FINAL_WAIT_S)
        for shard in self.shards:
            if not shard.done and not shard.lost:
                self._lost(shard, f"no end reported {FINAL_WAIT_S:g}s after the load was stopped")
                self.messages.put_nowait((shard.index, None))


def _engine_now() -> float:
    from chaos.load.engine import clock

    return clock()
