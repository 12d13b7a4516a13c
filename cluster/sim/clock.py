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

from cluster.runqueue import runqueue_wait

# uvloop keeps time in whole milliseconds and may fire a timer up to 1 ms early: a callback that
# checks "is the deadline reached?" on the clock must not run before it
TIMER_SLACK = 0.002


HEARTBEAT = 0.02  # real seconds between the event loop's proofs that it keeps up (at most)
CAP = 0.05  # real seconds past the last proof that cluster time may still advance (at most)
PRECISION = 0.5  # cluster seconds a callback may run late behind a busy loop: CAP x speed at speed 10


def cap_for(speed: float) -> float:
    """Real seconds cluster time may run past the last heartbeat at `speed`: CAP, less at speeds over
    10, so that a loop busy for that long costs every timer at most PRECISION cluster seconds."""
    return min(CAP, PRECISION / speed)


def heartbeat_for(speed: float) -> float:
    """Real seconds between heartbeats at `speed`: well inside the cap, so a loop that keeps up
    never stalls the clock."""
    return min(HEARTBEAT, cap_for(speed) * 0.4)


class SimClock:
    """Cluster time: it runs `speed` times faster than real time while the simulator keeps up, and
    stands still while it does not.

    A discrete-event simulator never lets virtual time pass an event it has not processed.  Here
    the events are the controllers' callbacks on one asyncio loop, so the loop proves it keeps up
    with a heartbeat every HEARTBEAT real seconds (`keep`); cluster time is extrapolated from the
    last heartbeat for at most CAP real seconds (less over speed 10: `cap_for`, so that a callback
    runs at most PRECISION cluster seconds late whatever the speed).  A loop starved for a second (other processes on
    the core, a burst of requests) therefore moves cluster time by at most CAP x speed in that
    second, not by speed seconds while NTH, the kubelets and the ALB did nothing: every cluster-time
    measurement (cordon, drain, deregistration, replacement) keeps its value, and the run takes
    longer in real time.  Without a heartbeat (a clock not yet kept) it is plain wall x speed.

    Sleeps and timers are on cluster time: one that was due while the clock stood still wakes when
    the clock reaches its deadline, never before.  Real-time things (HTTP service time, latency,
    timeouts) are not on this clock and cannot be slowed: `lag_max` says when they were starved.

    The speed may change while the clock runs (`set_speed`: a run under `speed: auto` provisions
    fast, then measures at the speed its traffic allows); pending sleeps and timers are set again
    for the new speed, so none wakes late or early in cluster time."""

    def __init__(self, speed: float = 1.0, *, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self._epoch = (start or datetime.now(UTC)).timestamp()
        self._mono0 = time.monotonic()
        self._anchor = (self._mono0, 0.0)  # (monotonic, cluster seconds since start): swapped whole, read from any thread
        self._cap = float("inf")  # until the heartbeat runs
        self._kept = False
        self._heartbeat = heartbeat_for(self.speed)
        self._timers: set[ClockTimer] = set()  # pending: set again when the speed changes
        self.stalled_total = 0.0  # real seconds cluster time stood still
        self.lag_max = 0.0  # the worst heartbeat lag in the last second
        self.effective_speed = self.speed  # over the last second
        self.runq_share = 0.0  # share of the last second the loop waited for a CPU (the kernel's word for starved)
        self._second: tuple[float, float, float] = (self._mono0, 0.0, 0.0)  # (monotonic, elapsed, worst lag) at the current second's start
        self._runq = runqueue_wait()
        self.on_beat: list[Callable[[SimClock], None]] = []

    @property
    def start_timestamp(self) -> float:
        """Unix time at which cluster time and wall time were equal (the clock's start)."""
        return self._epoch

    def elapsed(self) -> float:
        """Cluster seconds since the clock started."""
        mono, at = self._anchor
        return at + min(time.monotonic() - mono, self._cap) * self.speed

    def anchor(self) -> tuple[float, float, float]:
        """(monotonic, cluster Unix time, cap) of the last heartbeat: what readers elsewhere extend."""
        mono, at = self._anchor
        return mono, self._epoch + at, self._cap

    # ---- keeping up: the heartbeat
    def beat(self) -> None:
        """One proof that the loop keeps up: cluster time moves to where it may be now."""
        now = time.monotonic()
        mono, at = self._anchor
        real = now - mono
        step = min(real, self._cap)
        stalled = max(0.0, real - step)
        self._anchor = (now, at + step * self.speed)
        self.stalled_total += stalled
        start, at0, worst = self._second
        worst = max(worst, max(0.0, real - HEARTBEAT))
        if now - start >= 1.0:
            self.effective_speed = (self._anchor[1] - at0) / (now - start)
            self.lag_max, self._second = worst, (now, self._anchor[1], 0.0)
            runq = runqueue_wait()
            if runq is not None and self._runq is not None:
                self.runq_share = min(1.0, max(0.0, (runq - self._runq) / (now - start)))
            self._runq = runq
        else:
            self._second = (start, at0, worst)
        for listener in self.on_beat:
            listener(self)

    async def keep(self) -> None:
        """The heartbeat, as a task on the simulator's loop for as long as it runs."""
        self.beat()
        self._kept, self._cap = True, cap_for(self.speed)
        try:
            while True:
                await asyncio.sleep(self._heartbeat)
                self.beat()
        finally:  # no heartbeat any more (the simulator stops): time flows as wall x speed again
            self.beat()
            self._kept, self._cap = False, float("inf")

    def set_speed(self, speed: float) -> None:
        """Run at `speed` from now on: the time so far is kept at the old speed, the cap and the
        heartbeat follow the new one, and every pending timer and sleep is set for it."""
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.beat()
        self.speed = float(speed)
        self._heartbeat = heartbeat_for(self.speed)
        if self._kept:
            self._cap = cap_for(self.speed)
        for timer in list(self._timers):
            timer.reschedule()

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
        """The real seconds `cluster_seconds` take while the simulator keeps up (at least that)."""
        return max(0.0, cluster_seconds) / self.speed

    def real_timeout(self, cluster_seconds: float, floor: float = 0.25) -> float:
        """A network timeout given in cluster seconds (health checks, probes), in real seconds,
        floored so that a fast clock does not time out healthy loopback servers."""
        return max(floor, self.real_seconds(cluster_seconds))

    async def sleep(self, cluster_seconds: float) -> None:
        """Until cluster time has moved `cluster_seconds` (longer in real time while it stands still)."""
        if cluster_seconds <= 0:
            await asyncio.sleep(0)
            return
        woken = asyncio.get_running_loop().create_future()
        timer = self.call_later(cluster_seconds, _wake, woken)
        try:
            await woken
        finally:
            timer.cancel()

    async def sleep_real(self, seconds: float) -> None:
        """Sleep in real seconds (data-plane pacing, yielding to the loop with 0)."""
        await asyncio.sleep(seconds)

    def call_later(self, cluster_seconds: float, callback: Callable[..., Any], *args: Any) -> ClockTimer:
        """`callback(*args)` once cluster time has moved `cluster_seconds`, never before."""
        return ClockTimer(self, self.elapsed() + max(0.0, cluster_seconds), callback, args)

    def after(self, cluster_seconds: float) -> float:
        """The cluster timestamp `cluster_seconds` from now."""
        return self.timestamp() + cluster_seconds

    def __repr__(self) -> str:
        return f"SimClock(speed={self.speed}, now={self.isoformat()})"


class ClockTimer:
    """A timer on cluster time (what `SimClock.call_later` returns): the loop's timer is set for the
    real time the deadline is due at, and set again when the clock stood still meanwhile."""

    def __init__(self, clock: SimClock, deadline: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.clock, self.deadline, self.callback, self.args = clock, deadline, callback, args
        self._loop = asyncio.get_running_loop()
        self._cancelled = self._fired = False
        self._handle = self._loop.call_later(clock.real_seconds(deadline - clock.elapsed()) + TIMER_SLACK, self._due)
        clock._timers.add(self)

    def _due(self) -> None:
        left = self.deadline - self.clock.elapsed()
        if left > 0:
            self._handle = self._loop.call_later(self.clock.real_seconds(left) + TIMER_SLACK, self._due)
            return
        self._fire()

    def _fire(self) -> None:
        self._fired = True
        self.clock._timers.discard(self)
        self.callback(*self.args)

    def reschedule(self) -> None:
        """Set the loop's timer again for the clock's speed now (it changed)."""
        if self.done():
            return
        self._handle.cancel()
        left = self.deadline - self.clock.elapsed()
        self._handle = self._loop.call_later(self.clock.real_seconds(left) + TIMER_SLACK, self._due)

    def cancel(self) -> None:
        self._cancelled = True
        self._handle.cancel()
        self.clock._timers.discard(self)

    def fire_if_due(self) -> bool:
        """Fire now if its deadline has passed and it has not fired or been cancelled (two timers due
        at one cluster instant fire in the order their loop handles come up, which a slowed clock
        can swap: a step that must come first is fired this way).  True when it fired."""
        if self._fired or self._cancelled or self.deadline > self.clock.elapsed():
            return False
        self._handle.cancel()
        self._fire()
        return True

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        """Fired or cancelled: nothing more will come of it."""
        return self._fired or self._cancelled


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


def parse_time(value: str) -> float:
    """Parse an RFC 3339 timestamp (Z or offset, optional fraction) into a Unix timestamp."""
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    return datetime.fromisoformat(v).timestamp()


def since(now: float, then: float) -> timedelta:
    return timedelta(seconds=max(0.0, now - then))
