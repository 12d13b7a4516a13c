"""The run's traffic kept up to date record by record (a journal listener): the latest record of
each second and running totals, so the checks made several times a second while the run goes (stop
conditions, the warm-up wait, the live view) cost O(window), not O(journal).  Verdicts and reports
still come from `traffic_stats` over the whole journal; this is the same arithmetic, kept as it
happens."""

from __future__ import annotations

import bisect
import threading

from chaos.evidence.traffic_stats import Second, TrafficStats, second_of
from chaos.journal import Record
from chaos.journal.records import TrafficRecord


class TrafficFold:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[int, Second] = {}
        self._order: list[int] = []  # seconds, sorted (they arrive in order; a late one is inserted)
        self.requests = 0
        self.errors = 0
        self.last_end_t = float("-inf")

    def add(self, record: Record) -> None:
        """Journal listener: a traffic record supersedes its second's earlier one."""
        if not isinstance(record, TrafficRecord):
            return
        s = second_of(record)
        with self._lock:
            old = self._latest.get(s.second)
            if old is None:
                if not self._order or s.second > self._order[-1]:
                    self._order.append(s.second)
                else:
                    bisect.insort(self._order, s.second)
            else:
                self.requests -= old.requests
                self.errors -= old.errors
            self._latest[s.second] = s
            self.requests += s.requests
            self.errors += s.errors
            self.last_end_t = max(self.last_end_t, s.end_t)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def recent(self, count: int) -> list[Second]:
        with self._lock:
            return [self._latest[k] for k in self._order[-count:]] if count > 0 else []

    def recent_rate(self, window: float) -> tuple[float, int]:
        """(error rate, requests) over the last `window` cluster seconds (at least one second), as
        TrafficStats.recent_rate computes it."""
        last = self.recent(1)
        if not last:
            return 0.0, 0
        width = max(last[0].end_t - last[0].start_t, 1e-9)
        recent = self.recent(max(1, round(window / width)))
        n = sum(s.requests for s in recent)
        return (sum(s.errors for s in recent) / n if n else 0.0), n

    def since(self, start_t: float) -> TrafficStats:
        """The seconds that started at or after `start_t` (the steady-state checks, twice a run)."""
        with self._lock:
            return TrafficStats([self._latest[k] for k in self._order if self._latest[k].start_t >= start_t])
