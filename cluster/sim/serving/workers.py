"""A process's request workers: `concurrency` requests worked on at once, each for its service
time of real time, the rest queued in arrival order, so a pod saturates like a real one."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Workers:
    concurrency: int
    busy: int = 0
    started: int = 0  # requests a worker took up so far (the n each answer is given)
    waiting: deque[Callable[[], None]] = field(default_factory=deque)
    stopped: bool = False  # the process is gone: nothing queued is taken up

    def submit(self, service_time: float, answer: Callable[[int], None]) -> None:
        """`answer(n)` once a worker has spent `service_time` real seconds on the n-th request."""
        def work() -> None:
            self.busy += 1
            n = self.started
            self.started += 1
            asyncio.get_running_loop().call_later(service_time, done, n)

        def done(n: int) -> None:
            self.busy -= 1
            answer(n)
            if self.waiting and not self.stopped:
                self.waiting.popleft()()

        if self.busy < self.concurrency:
            work()
        else:
            self.waiting.append(work)
