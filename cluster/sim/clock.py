"""The simulator's one clock: control-plane time runs `speed` times faster than real time.

Every timestamp the simulator shows (Kubernetes objects and events, metadata notice
times, EventBridge event times) is read from here, and every control-plane delay
(boot time, grace periods, scan intervals) is waited for here.  Data-plane latency
(real HTTP requests) stays real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

# uvloop keeps time in whole milliseconds and may fire a timer up to 1 ms early: a callback that
# checks "is the deadline reached?" on the clock must not run before it
TIMER_SLACK = 0.002


class SimClock:
    """Cluster time = the wall time at start + speed x real time elapsed since start."""

    def __init__(self, speed: float = 1.0, *, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._epoch = (start or datetime.now(UTC)).timestamp()
        self._mono0 = time.monotonic()

    @property
    def start_timestamp(self) -> float:
        """Unix time at which cluster time and wall time were equal (the clock's start)."""
        return self._epoch

    def elapsed(self) -> float:
        """Cluster seconds since the clock started."""
        return (time.monotonic() - self._mono0) * self.speed

    def timestamp(self) -> float:
        """Cluster time as a Unix timestamp (seconds, float)."""
        return self._epoch + self.elapsed()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def isoformat(self, at: float | None = None) -> str:
        """RFC 3339 with seconds precision, as Kubernetes and EC2 metadata write times."""
        ts = self.timestamp() if at is None else at
        return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def micro_isoformat(self, at: float | None = None) -> str:
        """RFC 3339 with microseconds (Kubernetes MicroTime)."""
        ts = self.timestamp() if at is None else at
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def real_seconds(self, cluster_seconds: float) -> float:
        return max(0.0, cluster_seconds) / self.speed

    def real_timeout(self, cluster_seconds: float, floor: float = 0.25) -> float:
        """A network timeout given in cluster seconds (health checks, probes), in real seconds,
        floored so that a fast clock does not time out healthy loopback servers."""
        return max(floor, self.real_seconds(cluster_seconds))

    async def sleep(self, cluster_seconds: float) -> None:
        delay = self.real_seconds(cluster_seconds)
        await asyncio.sleep(delay + TIMER_SLACK if delay else 0)

    async def sleep_real(self, seconds: float) -> None:
        """Sleep in real seconds (data-plane pacing, yielding to the loop with 0)."""
        await asyncio.sleep(seconds)

    def call_later(self, cluster_seconds: float, callback: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(self.real_seconds(cluster_seconds) + TIMER_SLACK, callback, *args)

    def after(self, cluster_seconds: float) -> float:
        """The cluster timestamp `cluster_seconds` from now."""
        return self.timestamp() + cluster_seconds

    def __repr__(self) -> str:
        return f"SimClock(speed={self.speed}, now={self.isoformat()})"


def parse_time(value: str) -> float:
    """Parse an RFC 3339 timestamp (Z or offset, optional fraction) into a Unix timestamp."""
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    return datetime.fromisoformat(v).timestamp()


def since(now: float, then: float) -> timedelta:
    return timedelta(seconds=max(0.0, now - then))
