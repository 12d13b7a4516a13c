"""Named, guarded background tasks: a crash or an unexpected finish is logged and kept, never lost."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("sim.tasks")


@dataclass
class TaskGroup:
    tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    stopping: bool = False

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks[name] = task
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        name = task.get_name()
        if task.cancelled():
            if not self.stopping:
                log.warning("task_cancelled", task=name)
            return
        exc = task.exception()
        if exc is not None:
            self.failures.append((name, repr(exc)))
            log.error("task_crashed", task=name, error=repr(exc), exc_info=exc)
        elif not self.stopping:
            self.failures.append((name, "finished unexpectedly"))
            log.error("task_finished_unexpectedly", task=name)

    async def stop(self, timeout: float | None = None) -> None:
        """Cancel every task and wait for them to end (at most `timeout` seconds: the ones still
        running then are named in the log and left)."""
        self.stopping = True
        for t in self.tasks.values():
            t.cancel()
        if self.tasks:
            _, pending = await asyncio.wait(list(self.tasks.values()), timeout=timeout)
            if pending:
                log.error("tasks_slow_to_stop", tasks=sorted(t.get_name() for t in pending), seconds=timeout)
        self.tasks.clear()


@dataclass
class ShortTasks:
    """Short-lived tasks held until they finish (the loop keeps only weak references to tasks)."""

    held: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.held.add(task)
        task.add_done_callback(self.held.discard)
        return task

    def cancel(self) -> None:
        for task in list(self.held):
            task.cancel()
