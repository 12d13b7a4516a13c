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


def server_header(head: bytes) -> bytes | None:
    """The Server header's value in a response head (only looked at for error responses)."""
    i = head.lower().find(b"\r\nserver:")
    if i < 0:
        return None
    j = head.find(b"\r\n", i + 2)
    return head[i + 9: j if j >= 0 else None].strip()


def _second_histogram() -> HdrHistogram:
    """One second's latencies: 1 us to 60 s at 2 significant digits (1%), a small counts array
    made on the event loop every second, mergeable into the run's histograms."""
    return HdrHistogram(1, SECOND_MAX_US, 2)


SECOND_MAX_US = 60_000_000
LATE_US = 10_000  # a request sent this late by the generator is counted in its second (the verdict judges how late is too late)


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, MAX_LATENCY_US, 3)


@dataclass
class Bucket:
    second: int
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    latency_sum_us: int = 0
    latency_max_us: int = 0
    hist: HdrHistogram | None = None  # kept only when the recorder is asked for per-second histograms
    late: int = 0  # requests the generator itself sent LATE_US or more after their scheduled time
    late_max_us: int = 0  # the latest of them

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
            "latency_p99_ms": self.hist.get_value_at_percentile(99) / 1000 if n and self.hist is not None else None,
            "late": self.late,
            "late_max_ms": round(self.late_max_us / 1000, 3),
        }

    def encoded_histogram(self) -> str:
        """The second's latency histogram, HdrHistogram's compressed base64 form (mergeable)."""
        return self.hist.encode().decode("ascii") if self.hist is not None else ""

    def encode(self) -> dict[str, Any]:
        """The bucket, JSON-ready and mergeable (`add_encoded`)."""
        return {"counts": [self.counts[o] for o in OUTCOMES], "sum_us": self.latency_sum_us, "max_us": self.latency_max_us,
                "hist": self.encoded_histogram(), "late": self.late, "late_max_us": self.late_max_us}

    def add_encoded(self, e: dict[str, Any]) -> None:
        for o, c in zip(OUTCOMES, e["counts"], strict=True):
            self.counts[o] += int(c)
        self.latency_sum_us += int(e["sum_us"])
        self.latency_max_us = max(self.latency_max_us, int(e["max_us"]))
        self.late += int(e.get("late", 0))  # an older shard's report has none
        self.late_max_us = max(self.late_max_us, int(e.get("late_max_us", 0)))
        if self.hist is not None and e["hist"]:
            self.hist.decode_and_add(e["hist"].encode("ascii"))


def new_bucket(second: int, with_histogram: bool) -> Bucket:
    return Bucket(second, hist=_second_histogram() if with_histogram else None)


OUTCOMES = tuple(Outcome)
OUTCOME_CODE = {o: i for i, o in enumerate(OUTCOMES)}
OK_CODE = OUTCOME_CODE[Outcome.OK]


class Recorder:
    """Hot path: four array appends per request.  `flush` folds them (numpy) into the per-second
    buckets, the status counts and the HDR histograms."""

    def __init__(self, per_second_histograms: bool = False, bucket: float = 1.0) -> None:
        """`bucket`: real seconds per bucket (a "second" is bucket number n, from n x bucket after the
        schedule's t=0): 1 for a load run; shorter for an experiment whose cluster clock runs so
        fast that a real second would span more cluster time than its narrowest window."""
        # per-second histograms cost the flush ~1 ms a second on the generator's loop: only the
        # experiment harness (which plots p99 per second and merges them) asks for them
        self.per_second_histograms = per_second_histograms
        if not 0 < bucket <= 1.0:
            raise ValueError("a bucket is from 0 to 1 real second")
        self.bucket = bucket
        self._per_bucket = 1.0 / bucket
        self.buckets: dict[int, Bucket] = {}
        self.ok_latency = _histogram()
        self.all_latency = _histogram()
        self.statuses: dict[int, int] = {}
        self._us = array("q")
        self._second = array("q")
        self._outcome = array("b")
        self._status = array("h")
        self._late_second = array("q")
        self._late_us = array("q")

    def sent_late(self, scheduled: float, late_us: int) -> None:
        """A request the generator sent LATE_US or more after its time (its own lateness, not the target's)."""
        self._late_second.append(int(scheduled * self._per_bucket))
        self._late_us.append(late_us)

    def record(self, scheduled: float, latency_s: float, outcome: Outcome, status: int = 0) -> None:
        self.record_code(scheduled, latency_s, OUTCOME_CODE[outcome], status)

    def record_code(self, scheduled: float, latency_s: float, code: int, status: int) -> None:
        self._us.append(int(latency_s * 1_000_000) or 1)
        self._second.append(int(scheduled * self._per_bucket))
        self._outcome.append(code)
        self._status.append(status)

    def flush(self) -> None:
        self._flush_late()
        if not self._us:
            return
        taken = (self._us, self._second, self._outcome, self._status)
        self._us, self._second, self._outcome, self._status = array("q"), array("q"), array("b"), array("h")
        us = np.maximum(np.frombuffer(taken[0], dtype=np.int64), 1)
        second = np.frombuffer(taken[1], dtype=np.int64)
        outcome = np.frombuffer(taken[2], dtype=np.int8)
        status = np.frombuffer(taken[3], dtype=np.int16)
        for value, count in zip(*np.unique(status[status > 0], return_counts=True), strict=True):
            self.statuses[int(value)] = self.statuses.get(int(value), 0) + int(count)
        for sec in np.unique(second).tolist():
            mask = second == sec
            b = self.buckets.get(sec)
            if b is None:
                b = self.buckets[sec] = new_bucket(sec, self.per_second_histograms)
            codes = np.bincount(outcome[mask], minlength=len(OUTCOMES))
            for i, o in enumerate(OUTCOMES):
                b.counts[o] += int(codes[i])
            lat = us[mask]
            b.latency_sum_us += int(lat.sum())
            b.latency_max_us = max(b.latency_max_us, int(lat.max()))
            if b.hist is not None:
                v, c = np.unique(np.minimum(lat, SECOND_MAX_US), return_counts=True)
                for value, count in zip(v.tolist(), c.tolist(), strict=True):
                    b.hist.record_value(value, count)
        for values, hist in ((us[outcome == OK_CODE], self.ok_latency), (us, self.all_latency)):
            v, c = np.unique(np.minimum(values, MAX_LATENCY_US), return_counts=True)
            for value, count in zip(v.tolist(), c.tolist(), strict=True):
                hist.record_value(value, count)

    def _flush_late(self) -> None:
        if not self._late_us:
            return
        seconds, lates = self._late_second, self._late_us
        self._late_second, self._late_us = array("q"), array("q")
        for sec, us in zip(seconds, lates, strict=True):
            b = self.buckets.get(sec)
            if b is None:
                b = self.buckets[sec] = new_bucket(sec, self.per_second_histograms)
            b.late += 1
            b.late_max_us = max(b.late_max_us, us)

    def encode(self) -> dict[str, Any]:
        """What the recorder holds, JSON-ready and mergeable (histograms in HDR's encoded form):
        how a worker process hands its measurements to the parent."""
        self.flush()
        return {
            "bucket": self.bucket,
            "buckets": {str(s): b.encode() for s, b in self.buckets.items()},
            "ok": self.ok_latency.encode().decode("ascii") if self.ok_latency.get_total_count() else "",
            "all": self.all_latency.encode().decode("ascii") if self.all_latency.get_total_count() else "",
            "statuses": {str(k): v for k, v in self.statuses.items()},
        }

    def merge(self, encoded: dict[str, Any]) -> None:
        """Add another recorder's measurements (its `encode`): counts and sums add, maxima take
        the larger, histograms add count for count, so percentiles are those of one recorder
        that had seen every request."""
        self.flush()
        if float(encoded.get("bucket", 1.0)) != self.bucket:
            raise ValueError(f"cannot merge buckets of {encoded.get('bucket', 1.0)} s into buckets of {self.bucket} s")
        for key, e in encoded["buckets"].items():
            second = int(key)
            b = self.buckets.get(second)
            if b is None:
                b = self.buckets[second] = new_bucket(second, self.per_second_histograms)
            b.add_encoded(e)
        for name, hist in (("ok", self.ok_latency), ("all", self.all_latency)):
            if encoded[name]:
                hist.decode_and_add(encoded[name].encode("ascii"))
        for k, v in encoded["statuses"].items():
            self.statuses[int(k)] = self.statuses.get(int(k), 0) + int(v)
        self.buckets = dict(sorted(self.buckets.items()))

    def totals(self) -> dict[Outcome, int]:
        out = dict.fromkeys(Outcome, 0)
        for b in self.buckets.values():
            for o, c in b.counts.items():
                out[o] += c
        pending = np.bincount(np.frombuffer(self._outcome, dtype=np.int8), minlength=len(OUTCOMES)) if self._outcome else None
        if pending is not None:
            for i, o in enumerate(OUTCOMES):
                out[o] += int(pending[i])
        return out


_warmed = False


def warm_up() -> None:
    """Run the folding path once on throwaway data: numpy's first calls import and set up
    lazily, which would otherwise stall the first second of a run by ~10 ms."""
    global _warmed
    if _warmed:
        return
    r = Recorder()
    for i in range(64):
        r.record_code(i / 64, 0.001 * (i + 1), i % len(OUTCOMES), 200 + i)
    r.flush()
    r.totals()
    percentiles_ms(r.all_latency)
    _warmed = True


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
