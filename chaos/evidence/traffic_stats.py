"""The experiment's traffic as the journal holds it (one record per real second of requests,
superseded while late answers still come in): totals, error rate per window, merged latency
percentiles and the error budget burned.  Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from chaos.journal import Record, of
from chaos.journal.records import TrafficRecord
from chaos.load.stats import ERRORS

ERROR_CLASSES = tuple(o.value for o in ERRORS)


@dataclass
class Second:
    second: int
    start_t: float
    end_t: float
    requests: int
    errors: int
    by_class: dict[str, int]
    p99_ms: float | None
    max_ms: float | None
    hist: str | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass
class TrafficStats:
    seconds: list[Second] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.seconds)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.seconds)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def by_class(self) -> dict[str, int]:
        return {c: sum(s.by_class.get(c, 0) for s in self.seconds) for c in ERROR_CLASSES}

    def percentiles_ms(self) -> dict[str, float | None]:
        hist = HdrHistogram(1, 3_600_000_000, 3)
        for s in self.seconds:
            if s.hist:
                try:
                    hist.decode_and_add(s.hist.encode())
                except Exception:  # noqa: BLE001 - a garbled histogram on disk: that second's latencies are lost, not the report
                    continue
        if hist.get_total_count() == 0:
            return {"p50": None, "p99": None, "max": None}
        return {"p50": hist.get_value_at_percentile(50) / 1000, "p99": hist.get_value_at_percentile(99) / 1000, "max": hist.get_max_value() / 1000}

    def worst_window(self, window: float) -> tuple[float, float | None]:
        """(highest error rate over any `window` cluster seconds, its start); a window covers at
        least one second of traffic."""
        if not self.seconds:
            return 0.0, None
        width = max(self.seconds[0].end_t - self.seconds[0].start_t, 1e-9)
        k = max(1, round(window / width))
        worst, at = 0.0, self.seconds[0].start_t
        for i in range(max(1, len(self.seconds) - k + 1)):
            chunk = self.seconds[i: i + k]
            n = sum(s.requests for s in chunk)
            rate = sum(s.errors for s in chunk) / n if n else 0.0
            if rate > worst:
                worst, at = rate, chunk[0].start_t
        return worst, at

    def longest_run_over(self, threshold: float) -> tuple[float, float | None]:
        """(cluster seconds, start) of the longest run of consecutive seconds whose error rate is
        over `threshold` (a second with no request breaks a run)."""
        best, best_at = 0.0, None
        length, at, previous = 0.0, None, None
        for s in self.seconds:
            failing = s.requests > 0 and s.error_rate > threshold
            if failing and previous is not None and s.second == previous + 1 and length > 0:
                length += s.end_t - s.start_t
            elif failing:
                length, at = s.end_t - s.start_t, s.start_t
            else:
                length = 0.0
            if length > best:
                best, best_at = length, at
            previous = s.second
        return round(best, 3), best_at

    def recent_rate(self, window: float) -> tuple[float, int]:
        """(error rate, requests) over the last `window` cluster seconds (at least one second)."""
        if not self.seconds:
            return 0.0, 0
        width = max(self.seconds[-1].end_t - self.seconds[-1].start_t, 1e-9)
        recent = self.seconds[-max(1, round(window / width)):]
        n = sum(s.requests for s in recent)
        return (sum(s.errors for s in recent) / n if n else 0.0), n



def second_of(r: TrafficRecord) -> Second:
    by_class: dict[str, int] = {c: getattr(r, c) for c in ERROR_CLASSES}
    return Second(second=r.second, start_t=r.start_t, end_t=r.end_t, requests=r.requests,
                  errors=sum(by_class.values()), by_class=by_class, p99_ms=r.p99_ms, max_ms=r.max_ms, hist=r.hist)


def traffic_stats(records: list[Record]) -> TrafficStats:
    latest: dict[int, TrafficRecord] = {}
    for r in of(records, TrafficRecord):
        latest[r.second] = r
    return TrafficStats([second_of(r) for _, r in sorted(latest.items())])
