"""The simulator's clock stands still while its event loop is starved, instead of running ahead of
what the simulation did; its sleeps and timers never end before their cluster deadline; and its
published reading (the clock file) is the simulator's own.  The loop is starved here by blocking it
with time.sleep in a callback: that is the fault under test, not a wait for state."""

from __future__ import annotations

import asyncio
import time

import pytest

from cluster.published_clock import ClockReader
from cluster.sim.clock import CAP, HEARTBEAT, SimClock
from cluster.sim.clock_publisher import ClockPublisher

SPEED = 10.0


async def _kept(clock: SimClock) -> asyncio.Task[None]:
    task = asyncio.create_task(clock.keep())
    await asyncio.sleep(HEARTBEAT * 3)
    return task


async def test_a_starved_loop_does_not_move_cluster_time():
    clock = SimClock(SPEED)
    keeper = await _kept(clock)
    try:
        before = clock.elapsed()
        time.sleep(0.5)  # the loop is blocked: nothing simulated can happen
        during = clock.elapsed()
        assert during - before <= (CAP + 0.01) * SPEED, "cluster time ran on while the loop was blocked"
        await asyncio.sleep(HEARTBEAT * 3)
        assert clock.stalled_total >= 0.4
        # once the loop runs again, time runs again at its speed
        at = clock.elapsed()
        await asyncio.sleep(0.2)
        assert 0.1 * SPEED <= clock.elapsed() - at <= 0.4 * SPEED
    finally:
        keeper.cancel()


async def test_sleeps_and_timers_end_at_their_cluster_deadline_never_before():
    clock = SimClock(SPEED)
    keeper = await _kept(clock)
    loop = asyncio.get_running_loop()
    fired: list[float] = []
    try:
        start = clock.elapsed()
        clock.call_later(2.0, lambda: fired.append(clock.elapsed()))
        loop.call_later(0.05, time.sleep, 0.5)  # starved in the middle of both
        await clock.sleep(2.0)  # 0.2 s real at speed 10, but the clock stood still for about 0.5 s of it
        woke = clock.elapsed()
        assert woke - start >= 2.0
        assert woke - start <= 2.0 + 0.1 * SPEED, "woke far after its deadline"
        deadline = time.monotonic() + 5
        while not fired and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert fired and fired[0] - start >= 2.0
    finally:
        keeper.cancel()


async def test_a_clock_not_kept_is_wall_time_times_speed():
    clock = SimClock(SPEED)
    at = clock.elapsed()
    time.sleep(0.1)
    assert clock.elapsed() - at == pytest.approx(0.1 * SPEED, abs=0.05 * SPEED)


async def test_the_published_clock_reads_as_the_simulator_reads_itself(tmp_path):
    from cluster.sim.kube.api import KubeApi
    from cluster.sim.kube.store import ObjectStore

    clock = SimClock(SPEED)
    api = KubeApi(ObjectStore(100), clock)
    api.create(api.rt("Namespace"), "", {"metadata": {"name": "kube-system"}})
    api.create(api.rt("ConfigMap"), "kube-system", {"metadata": {"name": "spotchaos-sim"}, "data": {}})
    publisher = ClockPublisher(clock, api, ("kube-system", "spotchaos-sim"), tmp_path / "clock")
    keeper = await _kept(clock)
    try:
        reader = ClockReader(tmp_path / "clock")
        for _ in range(5):
            assert reader.cluster_now() == pytest.approx(clock.timestamp(), abs=0.005 * SPEED)
            await asyncio.sleep(0.03)
        time.sleep(0.3)  # starved: the reader sees the same standstill
        assert reader.cluster_now() == pytest.approx(clock.timestamp(), abs=0.005 * SPEED)
        deadline = time.monotonic() + 3
        def published() -> dict:
            return api.get(api.rt("ConfigMap"), "kube-system", "spotchaos-sim").get("data") or {}

        while time.monotonic() < deadline and float(published().get("clockStalledSeconds", 0)) < 0.2:
            await asyncio.sleep(0.05)
        data = api.get(api.rt("ConfigMap"), "kube-system", "spotchaos-sim")["data"]
        assert 0 < float(data["clockEffectiveSpeed"]) < SPEED, data  # the 0.3 s standstill is in the second it measured
        assert float(data["clockStalledSeconds"]) >= 0.2
        reader.close()
    finally:
        keeper.cancel()
        publisher.close()


def test_a_reader_that_finds_the_clock_mid_write_keeps_the_last_anchor(tmp_path):
    """The simulator descheduled between the two halves of a write (odd seq): the reader neither fails
    nor reads a torn anchor; it extends the last whole one, so the clock stands still meanwhile."""
    import struct

    from cluster.published_clock import ClockReading, ClockWriter

    writer = ClockWriter(tmp_path / "clock")
    anchor = ClockReading(time.monotonic(), 1_000_000.0, SPEED, CAP, 0.0, SPEED, 0.0)
    writer.write(anchor)
    reader = ClockReader(tmp_path / "clock")
    before = reader.cluster_now()
    struct.pack_into("<Q", writer._map, 0, 3)  # the writer stopped half-way through its next write
    after = reader.cluster_now()
    assert before <= after <= anchor.anchor_cluster + CAP * SPEED
    reader.close()
    writer.close()


async def test_a_step_that_must_come_first_is_fired_when_due_whatever_its_loop_order():
    """Two timers due at one cluster instant (FIS's Spot action ending and its reclaim) come up in
    the order of their loop handles, which a slowed clock can swap: the one that must come first is
    fired by `fire_if_due`, once, and never before its deadline."""
    clock = SimClock(SPEED)
    keeper = await _kept(clock)
    order: list[str] = []
    try:
        later = clock.call_later(0.5, order.append, "not yet")
        assert not later.fire_if_due() and not order  # not due yet: left to its timer
        later.cancel()
        reclaim = clock.call_later(0.0, order.append, "reclaim")  # due now; its loop handle has not come up
        assert reclaim.fire_if_due() and order == ["reclaim"]
        assert not reclaim.fire_if_due()
        clock.call_later(0.5, order.append, "later")  # its loop handle was cancelled: it does not fire again before this one
        deadline = time.monotonic() + 5
        while "later" not in order and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert order == ["reclaim", "later"]
    finally:
        keeper.cancel()


async def test_a_speed_change_sets_pending_sleeps_and_timers_again():
    """A run under `speed: auto` provisions fast, then measures slower: a sleep and a timer pending
    across the change end at their cluster deadline, neither early (speed down) nor late (speed up)."""
    clock = SimClock(SPEED)
    keeper = await _kept(clock)
    fired: list[float] = []
    try:
        start = clock.elapsed()
        clock.call_later(30.0, lambda: fired.append(clock.elapsed()))
        sleeper = asyncio.create_task(clock.sleep(30.0))  # 3 s real at speed 10
        await asyncio.sleep(0.1)
        clock.set_speed(200.0)  # the rest, about 29 cluster seconds, is 0.15 s real now
        real = time.monotonic()
        await asyncio.wait_for(sleeper, 2.0)
        assert time.monotonic() - real < 1.0, "the sleep kept its old real deadline"
        assert clock.elapsed() - start >= 30.0
        assert fired and 30.0 <= fired[0] - start <= 30.0 + 2 * 200 * 0.01
        # the cap follows the speed: a blocked loop moves the clock by at most PRECISION-ish
        before = clock.elapsed()
        time.sleep(0.2)
        assert clock.elapsed() - before <= 0.5 + 0.01 * 200
        # and down again: a timer set at speed 200 does not fire early at speed 2
        at = clock.elapsed()
        woke: list[float] = []
        clock.call_later(1.0, lambda: woke.append(clock.elapsed()))
        clock.set_speed(2.0)
        await asyncio.sleep(0.1)
        assert not woke, "fired at the old speed's real deadline"
        sleeping = time.monotonic()
        while not woke and time.monotonic() - sleeping < 3:
            await asyncio.sleep(0.01)
        assert woke and woke[0] - at >= 1.0
    finally:
        keeper.cancel()
