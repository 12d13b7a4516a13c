"""What a load run measured: outcomes by class, per-second buckets (by scheduled send time) and
HDR latency histograms, latency always counted from the scheduled send time (no coordinated
omission)."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

MAX_LATENCY_US = 3_600_000_000


class Outcome(StrEnum):
    OK = "ok"
    BALANCER_5XX = "balancer_5xx"  # 502/503/504 the load balancer itself answered (Server: awselb)
    BACKEND_5XX = "backend_5xx"  # a 5xx from the service behind it
    CONNECTION = "connection"  # refused, reset or closed before a response
    TIMEOUT = "timeout"
    OTHER = "other"  # 4xx and anything unexpected


ERRORS = tuple(o for o in Outcome if o is not Outcome.OK)


def classify(status: int, server: bytes | None) -> Outcome:
    if status < 400:
        return Outcome.OK
    if status >= 500:
        if status in (502, 503, 504) and server is not None and server.lower().startswith(b"awselb"):
            return Outcome.BALANCER_5XX
        return Outcome.BACKEND_5XX
    return Outcome.OTHER


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, MAX_LATENCY_US, 3)


@dataclass
class Bucket:
    second: int
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    latency_sum_us: int = 0
    latency_max_us: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def errors(self) -> int:
        return self.total - self.counts[Outcome.OK]

    def as_dict(self) -> dict[str, Any]:
        n = self.total
        return {
            "second": self.second,
            "requests": n,
            **{o.value: c for o, c in self.counts.items()},
            "error_rate": round(self.errors / n, 6) if n else 0.0,
            "latency_mean_ms": round(self.latency_sum_us / n / 1000, 3) if n else None,
            "latency_max_ms": round(self.latency_max_us / 1000, 3) if n else None,
        }


class Recorder:
    """Collects outcomes cheaply on the hot path; latencies are folded into the HDR histogram in bulk."""

    def __init__(self) -> None:
        self.buckets: dict[int, Bucket] = {}
        self.ok_latency = _histogram()
        self.all_latency = _histogram()
        self._pending_ok = array("q")
        self._pending_all = array("q")
        self.statuses: dict[int, int] = {}

    def record(self, scheduled: float, latency_s: float, outcome: Outcome, status: int = 0) -> None:
        us = max(1, int(latency_s * 1_000_000))
        second = int(scheduled)
        b = self.buckets.get(second)
        if b is None:
            b = self.buckets[second] = Bucket(second)
        b.counts[outcome] += 1
        b.latency_sum_us += us
        if us > b.latency_max_us:
            b.latency_max_us = us
        if status:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        self._pending_all.append(us)
        if outcome is Outcome.OK:
            self._pending_ok.append(us)

    def flush(self) -> None:
        for pending, hist in ((self._pending_ok, self.ok_latency), (self._pending_all, self.all_latency)):
            if not pending:
                continue
            values, counts = np.unique(np.frombuffer(pending, dtype=np.int64), return_counts=True)
            for v, c in zip(values.tolist(), counts.tolist(), strict=True):
                hist.record_value(min(v, MAX_LATENCY_US), c)
            del pending[:]

    def totals(self) -> dict[Outcome, int]:
        out = dict.fromkeys(Outcome, 0)
        for b in self.buckets.values():
            for o, c in b.counts.items():
                out[o] += c
        return out


def percentiles_ms(hist: HdrHistogram) -> dict[str, float | None]:
    if hist.get_total_count() == 0:
        return {"p50": None, "p90": None, "p99": None, "p999": None, "max": None, "mean": None}
    return {
        "p50": hist.get_value_at_percentile(50) / 1000,
        "p90": hist.get_value_at_percentile(90) / 1000,
        "p99": hist.get_value_at_percentile(99) / 1000,
        "p999": hist.get_value_at_percentile(99.9) / 1000,
        "max": hist.get_max_value() / 1000,
        "mean": round(hist.get_mean_value() / 1000, 3),
    }
