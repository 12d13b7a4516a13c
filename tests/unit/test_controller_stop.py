"""A controller's loop ends when it is cancelled, also when a wake-up comes in the same turn of
the event loop as the cancel (a store event during the simulator's stop).  Python 3.11's
asyncio.wait_for could swallow that cancel: the controller then outlived the simulator's stop
(`tasks_slow_to_stop` serviceaccount, 2.5 s of a stop).  Runs on the event loop alone: the
controller's store and clock are not needed to show it."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

from cluster.sim.controllers.base import Controller


class _Clock:
    @staticmethod
    def real_seconds(cluster_seconds: float) -> float:
        return cluster_seconds / 10

    @staticmethod
    async def sleep_real(seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Counting(Controller):
    name = "counting"
    resync = 30.0

    def __init__(self) -> None:  # no simulator context: only the run loop is under test
        self.clock = _Clock()  # type: ignore[assignment]
        self._dirty: dict[Hashable, None] = {}
        self._wake = asyncio.Event()
        self.reconciled: list[Hashable] = []

    def all_keys(self) -> list[Hashable]:
        return []

    def reconcile(self, key: Hashable) -> None:
        self.reconciled.append(key)


async def test_a_cancel_that_comes_with_a_wake_up_ends_the_controller() -> None:
    for _ in range(20):  # the race is in one turn of the loop: try it where the wait is at each stage
        controller = _Counting()
        task = asyncio.get_running_loop().create_task(controller.run())
        await asyncio.sleep(0)
        controller.enqueue("a")
        await asyncio.sleep(0.02)
        assert controller.reconciled[-1:] == ["a"]  # it runs: woken, it reconciles
        await asyncio.sleep(0)
        controller.enqueue("b")  # a store event during the stop ...
        task.cancel()  # ... in the same turn as the simulator's cancel
        done, _ = await asyncio.wait({task}, timeout=1.0)
        assert done and task.cancelled(), "the controller went on after its cancel"
