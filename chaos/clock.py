"""The harness's clock: a run's timeline is in cluster seconds since the run started.

On the local simulator cluster time runs `speed` times faster than real time (the speed and the
clock's start are read from the simulator's ConfigMap); on EKS the speed is 1."""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

ClusterNow = Callable[[], float]  # the cluster's clock now, as Unix time


class RunClock:
    """Reads 0 until `start` (the run's time begins once it knows the cluster's clock).

    Run time is the cluster's clock since the run started, read from `source`: on EKS the wall
    clock; on the simulator its published clock (cluster/published_clock.py), which stands still
    while the simulator is starved, so a run's cluster-time figures are the simulator's own.  The
    readings are kept (a few per second) so that a past moment, a second of traffic measured on
    the monotonic clock, maps to the run time it had."""

    HISTORY_STEP = 0.05  # real seconds between the readings kept
    HISTORY_KEPT = 20_000  # about 17 minutes of them; older moments are extrapolated

    def __init__(self, speed: float = 1.0, cluster_epoch: float | None = None, *, started: bool = True) -> None:
        self.speed = float(speed)
        self._mono0 = time.monotonic()
        self._started = started
        # the cluster's clock started at `cluster_epoch` (wall time then == cluster time then)
        self._cluster_epoch = cluster_epoch if cluster_epoch is not None else time.time()
        self._source: ClusterNow = self._linear
        self._start_cluster = self._source()
        self._history: list[tuple[float, float]] = [(self._mono0, 0.0)]
        self._lock = threading.Lock()

    def _linear(self) -> float:
        """The cluster's clock as wall time x speed since its start (EKS: the wall clock)."""
        wall = time.time()
        return self._cluster_epoch + (wall - self._cluster_epoch) * self.speed

    def start(self, speed: float, cluster_epoch: float | None = None, source: ClusterNow | None = None) -> None:
        self.speed = float(speed)
        self._cluster_epoch = cluster_epoch if cluster_epoch is not None else time.time()
        self._source = source or self._linear
        self._mono0 = time.monotonic()
        self._start_cluster = self._source()
        with self._lock:
            self._history = [(self._mono0, 0.0)]
        self._started = True

    def now(self) -> float:
        """Cluster seconds since the run started."""
        if not self._started:
            return 0.0
        mono = time.monotonic()
        t = self._source() - self._start_cluster
        with self._lock:
            last_mono, last_t = self._history[-1]
            t = max(t, last_t)  # never backwards, whatever a reader raced with
            if mono - last_mono >= self.HISTORY_STEP:
                self._history.append((mono, t))
                if len(self._history) > self.HISTORY_KEPT:
                    del self._history[: self.HISTORY_KEPT // 10]
        return t

    def at_monotonic(self, mono: float) -> float:
        """The run time of a time.monotonic() reading: between two kept readings, the line between
        them; after the last one, as the clock runs now."""
        now = self.now()
        with self._lock:
            history = self._history
            i = bisect.bisect_right(history, mono, key=lambda h: h[0])
            if i == len(history):
                last_mono, last_t = history[-1]
                return min(now, last_t + (mono - last_mono) * self.speed)
            if i == 0:
                first_mono, first_t = history[0]
                return first_t - (first_mono - mono) * self.speed
            (m0, t0), (m1, t1) = history[i - 1], history[i]
        return t0 + (t1 - t0) * (mono - m0) / (m1 - m0) if m1 > m0 else t1

    def wall(self) -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def cluster_timestamp(self) -> float:
        """Unix time on the cluster's clock now (what the cluster writes in its events)."""
        return self._source()

    def run_time_of(self, cluster_ts: float) -> float:
        """The run time of a Unix timestamp on the cluster's clock (an API's startTime, say)."""
        return cluster_ts - self._start_cluster

    def cluster_iso(self) -> str:
        return datetime.fromtimestamp(int(self.cluster_timestamp()), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def real_seconds(self, cluster_seconds: float) -> float:
        """Real seconds for `cluster_seconds` while the cluster keeps its speed (more when it slows)."""
        return max(0.0, cluster_seconds) / self.speed

    async def sleep_real(self, seconds: float) -> None:
        """A pause between looks at the journal (polling a condition, never waiting for state)."""
        await asyncio.sleep(max(0.0, seconds))

    async def sleep(self, cluster_seconds: float) -> None:
        """Until the cluster's clock has moved `cluster_seconds` (longer while it stands still)."""
        deadline = self.now() + cluster_seconds
        while (left := deadline - self.now()) > 0:
            await asyncio.sleep(self.real_seconds(left) + 0.001)


def wall_seconds() -> float:
    """Unix time on this machine's wall clock."""
    return time.time()


def monotonic_at_wall(epoch: float) -> float:
    """The time.monotonic() reading (CLOCK_MONOTONIC, the load engine's clock on Linux) when this
    machine's wall clock reads `epoch`: how load shards on several machines agree on one t=0
    (their wall clocks are kept by NTP; on one machine it is the same clock)."""
    return time.monotonic() + (epoch - time.time())
