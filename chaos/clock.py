"""The harness's clock: a run's timeline is in cluster seconds since the run started.

On the local simulator cluster time runs `speed` times faster than real time (the speed and the
clock's start are read from the simulator's ConfigMap); on EKS the speed is 1."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


class RunClock:
    """Reads 0 until `start` (the run's time begins once it knows the cluster's clock)."""

    def __init__(self, speed: float = 1.0, cluster_epoch: float | None = None, *, started: bool = True) -> None:
        self.speed = float(speed)
        self._mono0 = time.monotonic()
        self._started = started
        # the cluster's clock started at `cluster_epoch` (wall time then == cluster time then)
        self._cluster_epoch = cluster_epoch if cluster_epoch is not None else time.time()

    def start(self, speed: float, cluster_epoch: float | None = None) -> None:
        self.speed = float(speed)
        self._mono0 = time.monotonic()
        self._cluster_epoch = cluster_epoch if cluster_epoch is not None else time.time()
        self._started = True

    def now(self) -> float:
        """Cluster seconds since the run started."""
        if not self._started:
            return 0.0
        return (time.monotonic() - self._mono0) * self.speed

    def at_monotonic(self, mono: float) -> float:
        """The run time of a time.monotonic() reading."""
        return (mono - self._mono0) * self.speed

    def wall(self) -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def cluster_timestamp(self) -> float:
        """Unix time on the cluster's clock now (what the cluster writes in its events)."""
        wall = time.time()
        return self._cluster_epoch + (wall - self._cluster_epoch) * self.speed

    def run_time_of(self, cluster_ts: float) -> float:
        """The run time of a Unix timestamp on the cluster's clock (an API's startTime, say)."""
        return self.now() - (self.cluster_timestamp() - cluster_ts)

    def cluster_iso(self) -> str:
        return datetime.fromtimestamp(int(self.cluster_timestamp()), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def real_seconds(self, cluster_seconds: float) -> float:
        return max(0.0, cluster_seconds) / self.speed

    async def sleep_real(self, seconds: float) -> None:
        """A pause between looks at the journal (polling a condition, never waiting for state)."""
        await asyncio.sleep(max(0.0, seconds))

    async def sleep(self, cluster_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(cluster_seconds))


def wall_seconds() -> float:
    """Unix time on this machine's wall clock."""
    return time.time()


def monotonic_at_wall(epoch: float) -> float:
    """The time.monotonic() reading (CLOCK_MONOTONIC, the load engine's clock on Linux) when this
    machine's wall clock reads `epoch`: how load shards on several machines agree on one t=0
    (their wall clocks are kept by NTP; on one machine it is the same clock)."""
    return time.monotonic() + (epoch - time.time())
