"""Load from several processes on one machine (`spotchaos load --workers N`): one open-loop engine
per process, each sending every N-th scheduled request of the one schedule from the same t=0
(CLOCK_MONOTONIC is one clock for all the machine's processes), so together they send exactly the
schedule one engine would.  Each worker hands back its recorder in encoded form (counts, sums and
HDR histograms); the parent merges them, so the summary, per-second buckets and percentiles are
those of one process that had sent every request."""

from __future__ import annotations

import asyncio
import multiprocessing
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from chaos.host import event_loop
from chaos.load.engine import LoadEngine, LoadError, clock, lateness_ms
from chaos.load.run import LoadSpec, run_load, summarize
from chaos.load.shard import LiveMerge
from chaos.load.stats import Bucket, Recorder

START_DELAY_S = 2.0  # from the parent's start to t=0: every worker is up and connected by then
MAX_WORKERS = 64


@dataclass
class Merged:
    """Several workers' measurements as one engine's (what `summarize` reads)."""

    recorder: Recorder
    dispatched: int = 0
    last_dispatch: float = 0.0
    lateness: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]

    def generator_lateness_ms(self) -> dict[str, float]:
        return lateness_ms(self.lateness)

    def add(self, part: dict[str, Any]) -> None:
        self.recorder.merge(part["recorder"])
        self.dispatched += int(part["dispatched"])
        self.last_dispatch = max(self.last_dispatch, float(part["last_dispatch"]))
        self.lateness.frombytes(part["lateness"])


def _worker(spec: LoadSpec, index: int, workers: int, start_at: float, pipe: Connection, stop: Any = None, live_interval: float | None = None) -> None:
    """One worker: its share of the schedule; with `live_interval`, the seconds whose numbers
    changed are sent every `live_interval` seconds (as the harness writes them while the run
    goes), and `stop` (a multiprocessing Event) ends the load early."""
    engines: list[LoadEngine] = []
    sent: dict[int, tuple[int, int]] = {}

    def flushed(engine: LoadEngine) -> None:
        if not engines:
            engines.append(engine)
        if stop is not None and stop.is_set():
            engine.stop()
        if live_interval is None:
            return
        changed = {str(sec): b.encode() for sec, b in engine.recorder.buckets.items() if sent.get(sec) != (b.total, b.latency_sum_us)}
        sent.update({sec: (b.total, b.latency_sum_us) for sec, b in engine.recorder.buckets.items()})
        if changed:
            pipe.send({"live": changed})

    try:
        event_loop.run(run_load(spec, on_flush=flushed, share=(index, workers), start_at=start_at, progress_interval=live_interval or 1.0))
        engine = engines[0]
        pipe.send({"recorder": engine.recorder.encode(), "dispatched": engine.dispatched, "last_dispatch": engine.last_dispatch,
                   "lateness": engine.lateness.tobytes()})
    except LoadError as exc:
        pipe.send({"error": str(exc)})
    except Exception as exc:  # noqa: BLE001 - said to the parent, which says it in one line
        pipe.send({"error": f"worker {index}: {type(exc).__name__}: {exc}"})
    finally:
        pipe.close()


def _check(workers: int) -> None:
    if not 1 <= workers <= MAX_WORKERS:
        raise LoadError(f"--workers must be from 1 to {MAX_WORKERS} (got {workers})")


def _start(spec: LoadSpec, workers: int, start_at: float, stop: Any = None, live_interval: float | None = None) -> tuple[list[Connection], list[Any]]:
    spawn = multiprocessing.get_context("spawn")  # a clean interpreter each: no event loop or threads inherited
    pipes, procs = [], []
    for index in range(workers):
        parent, child = spawn.Pipe(duplex=False)
        proc = spawn.Process(target=_worker, args=(spec, index, workers, start_at, child, stop, live_interval), name=f"load-worker-{index}", daemon=True)
        proc.start()
        child.close()
        pipes.append(parent)
        procs.append(proc)
    return pipes, procs


def _reap(procs: list[Any]) -> None:
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


def run_load_workers(spec: LoadSpec, workers: int) -> dict[str, Any]:
    """The load from `workers` processes; the merged summary (and `workers` in it)."""
    _check(workers)
    start_at = clock() + START_DELAY_S
    pipes, procs = _start(spec, workers, start_at)
    merged = Merged(Recorder(spec.per_second_histograms, spec.bucket))
    errors = []
    try:
        for index, pipe in enumerate(pipes):
            try:
                part = pipe.recv()
            except EOFError:
                errors.append(f"worker {index} ended without its results (exit code {procs[index].exitcode})")
                continue
            if "error" in part:
                errors.append(part["error"])
            else:
                merged.add(part)
    finally:
        _reap(procs)
    if errors:
        raise LoadError(errors[0])
    return {**summarize(spec, merged), "workers": workers}


def _recv(pipe: Connection) -> dict[str, Any] | None:
    try:
        return pipe.recv()  # type: ignore[no-any-return]
    except EOFError:
        return None


async def run_load_workers_live(spec: LoadSpec, workers: int, stop: asyncio.Event, on_buckets: Callable[[float, dict[int, Bucket]], None],
                                live_interval: float = 0.5) -> tuple[dict[str, Any], float, dict[int, Bucket]]:
    """The load from `workers` processes while the caller's event loop goes on: `on_buckets(t0,
    buckets)` gets the merged per-second buckets whose numbers changed, as the workers report
    them; setting `stop` ends the load early.  Returns the merged summary, t0 (on the engine's
    clock) and the merged per-second buckets."""
    _check(workers)
    start_at = clock() + START_DELAY_S
    halt = multiprocessing.get_context("spawn").Event()
    pipes, procs = _start(spec, workers, start_at, halt, live_interval)
    latest = LiveMerge(workers, spec.per_second_histograms)
    merged = Merged(Recorder(spec.per_second_histograms, spec.bucket))
    errors: list[str] = []

    def live(index: int, changed: dict[str, Any]) -> None:
        on_buckets(start_at, latest.update(index, changed))

    async def read(index: int, pipe: Connection) -> None:
        while True:
            message = await asyncio.to_thread(_recv, pipe)
            if message is None:
                errors.append(f"worker {index} ended without its results (exit code {procs[index].exitcode})")
                return
            if "live" in message:
                live(index, message["live"])
            elif "error" in message:
                errors.append(message["error"])
                return
            else:
                merged.add(message)
                return

    async def relay_stop() -> None:
        await stop.wait()
        halt.set()

    relay = asyncio.create_task(relay_stop())
    try:
        await asyncio.gather(*(read(i, p) for i, p in enumerate(pipes)))
    finally:
        relay.cancel()
        halt.set()
        await asyncio.to_thread(_reap, procs)
    if errors:
        raise LoadError(errors[0])
    return {**summarize(spec, merged), "workers": workers}, start_at, merged.recorder.buckets
