"""Waiting on a condition under a deadline: the one wait loop of the project.

`until` (async) and `wait_for` (blocking) call a predicate until it returns something
truthy, and raise `WaitTimeout` saying what was still missing when the deadline passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """The condition did not hold before the deadline; `last` is the predicate's last answer."""

    def __init__(self, what: str, timeout: float, last: object = None) -> None:
        detail = f"; last seen: {last!r}" if last not in (None, False) else ""
        super().__init__(f"timed out after {timeout:g}s waiting for {what}{detail}")
        self.last = last


def wait_for(predicate: Callable[[], T], timeout: float, what: str = "condition", interval: float = 0.05, describe: Callable[[], object] | None = None) -> T:
    """Poll `predicate` until it returns a truthy value; raise WaitTimeout after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(what, timeout, describe() if describe else result)
        time.sleep(interval)


async def until(predicate: Callable[[], T | Awaitable[T]], timeout: float, what: str = "condition", interval: float = 0.05) -> T:
    """Async twin of wait_for; the predicate may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise WaitTimeout(what, timeout, result)
        await asyncio.sleep(interval)
