"""A load shard: one of N processes, anywhere, sending every N-th request of the one schedule
from one wall-clock t=0, and reporting its measurements on stdout, which is its container log
on Kubernetes.  The harness reads the shards' logs (`pods/log`, as `kubectl logs -f` does: the
same on EKS and on the simulator) and merges them into the journal as local traffic.

The report is one line per message, `spotchaos-shard ` then JSON:
- `{"index": I, "live": {"<second>": <encoded bucket>, ...}}` every half second, the seconds
  whose numbers changed (cumulative for each second: the newest replaces the older);
- `{"index": I, "final": {"recorder": ..., "dispatched": n, "last_dispatch": s, "lateness": "<base64>"}}`
  at the end (the whole recorder, as a local worker hands it back);
- `{"index": I, "error": "..."}` when the load cannot run.
Other lines (the harness's own logs) are left alone."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO

from chaos.load.engine import LoadEngine, LoadError
from chaos.load.run import LoadSpec, run_load
from chaos.load.stats import Bucket, new_bucket

PREFIX = "spotchaos-shard "
LIVE_INTERVAL_S = 0.5


def report_line(message: dict[str, Any]) -> str:
    return PREFIX + json.dumps(message, separators=(",", ":"))


def parse_line(line: str) -> dict[str, Any] | None:
    """A shard's message, or None for any other line (a timestamp prefix, as `timestamps=true`
    adds, is skipped)."""
    at = line.find(PREFIX)
    if at < 0:
        return None
    try:
        message = json.loads(line[at + len(PREFIX):])
    except ValueError:
        return None
    return message if isinstance(message, dict) and isinstance(message.get("index"), int) else None


class LiveMerge:
    """The per-second buckets of several senders merged as they report: each sender's newest
    numbers for a second replace its older ones, and the second is their sum."""

    def __init__(self, senders: int, with_histograms: bool) -> None:
        self.latest: list[dict[int, dict[str, Any]]] = [{} for _ in range(senders)]
        self.with_histograms = with_histograms

    def update(self, sender: int, changed: dict[str, Any]) -> dict[int, Bucket]:
        """The merged buckets of the seconds `changed` names."""
        seconds = [int(k) for k in changed]
        self.latest[sender].update({int(k): v for k, v in changed.items()})
        merged = {}
        for sec in seconds:
            b = merged[sec] = new_bucket(sec, self.with_histograms)
            for part in self.latest:
                if sec in part:
                    b.add_encoded(part[sec])
        return merged


async def run_shard(spec: LoadSpec, index: int, shards: int, start_at: float, out: TextIO = sys.stdout) -> int:
    """Send this shard's share of the schedule from `start_at` (on the engine's clock), reporting
    as it goes; the exit code (0 sent, 3 could not)."""
    sent: dict[int, tuple[int, int]] = {}
    engines: list[LoadEngine] = []

    def say(message: dict[str, Any]) -> None:
        out.write(report_line({"index": index, **message}) + "\n")
        out.flush()

    def flushed(engine: LoadEngine) -> None:
        if not engines:
            engines.append(engine)
        changed = {str(sec): b.encode() for sec, b in engine.recorder.buckets.items() if sent.get(sec) != (b.total, b.latency_sum_us)}
        sent.update({sec: (b.total, b.latency_sum_us) for sec, b in engine.recorder.buckets.items()})
        if changed:
            say({"live": changed})

    stop = asyncio.Event()  # SIGTERM (the pod deleted, the Job suspended): stop sending, report what was measured
    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await run_load(spec, on_flush=flushed, share=(index, shards), start_at=start_at, progress_interval=LIVE_INTERVAL_S, stop=stop)
    except LoadError as exc:
        say({"error": str(exc)})
        return 3
    engine = engines[0]
    say({"final": {"recorder": engine.recorder.encode(), "dispatched": engine.dispatched, "last_dispatch": engine.last_dispatch,
                   "lateness": base64.b64encode(engine.lateness.tobytes()).decode("ascii")}})
    return 0


def final_part(final: dict[str, Any]) -> dict[str, Any]:
    """A shard's final message as a local worker's result (what Merged.add reads)."""
    return {**final, "lateness": base64.b64decode(final["lateness"])}


OnBuckets = Callable[[float, dict[int, Bucket]], None]
