"""The simulator's parts as one ordered list: each part is added once it has started, and the
simulator stops them in reverse order, each within a bound, so that a part added to `start` is
stopped without anyone keeping a second list (a Karpenter whose loops outlived the simulator
was once forgotten in a hand-kept stop tuple)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

import structlog

log = structlog.get_logger("sim.parts")


@runtime_checkable
class Part(Protocol):
    """Something the simulator started and must stop: its controllers, servers, add-ons."""

    async def stop(self) -> None: ...


Stop = Callable[[], Awaitable[None] | None]
P = TypeVar("P", bound=Part)


@dataclass
class Parts:
    bound: float  # seconds one part may take to stop before it is named and left
    started: list[tuple[str, Stop]] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def add(self, part: P, name: str | None = None) -> P:
        """`part`, now started: it is stopped by `stop` before every part started before it."""
        self.started.append((name or type(part).__name__, part.stop))
        return part

    def add_stop(self, name: str, stop: Stop) -> None:
        """A started thing that is not a Part: how to stop it."""
        self.started.append((name, stop))

    async def stop(self) -> None:
        """Every part in reverse order of starting, each within `bound` seconds; one that hangs or
        fails is named in the log and the others still stop."""
        while self.started:
            name, stop = self.started.pop()
            try:
                result = stop()
                if result is not None:
                    await asyncio.wait_for(result, self.bound)
            except TimeoutError:
                self.slow.append(name)
                log.error("stop_slow", part=name, seconds=self.bound)
            except Exception:
                self.failed.append(name)
                log.exception("stop_failed", part=name)
