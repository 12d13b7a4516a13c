"""Load from several processes on one machine (`spotchaos load --workers N`): one open-loop engine
per process, each sending every N-th scheduled request of the one schedule from the same t=0
(CLOCK_MONOTONIC is one clock for all the machine's processes), so together they send exactly the
schedule one engine would.  Each worker hands back its recorder in encoded form (counts, sums and
HDR histograms); the parent merges them, so the summary, per-second buckets and percentiles are
those of one process that had sent every request."""

from __future__ import annotations

import multiprocessing
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from chaos import event_loop
from chaos.load.engine import LoadEngine, LoadError, clock, lateness_ms
from chaos.load.run import LoadSpec, run_load, summarize
from chaos.load.stats import Recorder

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


def _worker(spec: LoadSpec, index: int, workers: int, start_at: float, pipe: Connection) -> None:
    engines: list[LoadEngine] = []
    try:
        event_loop.run(run_load(spec, on_flush=lambda e: engines.append(e) if not engines else None, share=(index, workers), start_at=start_at))
        engine = engines[0]
        pipe.send({"recorder": engine.recorder.encode(), "dispatched": engine.dispatched, "last_dispatch": engine.last_dispatch,
                   "lateness": engine.lateness.tobytes()})
    except LoadError as exc:
        pipe.send({"error": str(exc)})
    except Exception as exc:  # noqa: BLE001 - said to the parent, which says it in one line
        pipe.send({"error": f"worker {index}: {type(exc).__name__}: {exc}"})
    finally:
        pipe.close()


def run_load_workers(spec: LoadSpec, workers: int) -> dict[str, Any]:
    """The load from `workers` processes; the merged summary (and `workers` in it)."""
    if not 1 <= workers <= MAX_WORKERS:
        raise LoadError(f"--workers must be from 1 to {MAX_WORKERS} (got {workers})")
    spawn = multiprocessing.get_context("spawn")  # a clean interpreter each: no event loop or threads inherited
    start_at = clock() + START_DELAY_S
    pipes, procs = [], []
    for index in range(workers):
        parent, child = spawn.Pipe(duplex=False)
        proc = spawn.Process(target=_worker, args=(spec, index, workers, start_at, child), name=f"load-worker-{index}", daemon=True)
        proc.start()
        child.close()
        pipes.append(parent)
        procs.append(proc)
    merged = Merged(Recorder(spec.per_second_histograms))
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
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    if errors:
        raise LoadError(errors[0])
    return {**summarize(spec, merged), "workers": workers}
