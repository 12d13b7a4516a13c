"""The simulator's parts stop in reverse order of starting, each within its bound: one that
hangs or fails is named and the others still stop."""

from __future__ import annotations

import asyncio

from cluster.sim.parts import Parts


class Part:
    def __init__(self, name: str, stopped: list[str], hang: bool = False, fail: bool = False) -> None:
        self.name, self.stopped, self.hang, self.fail = name, stopped, hang, fail

    async def stop(self) -> None:
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail:
            raise RuntimeError("port in use")
        self.stopped.append(self.name)


async def test_parts_stop_in_reverse_and_one_that_hangs_or_fails_does_not_hold_the_rest() -> None:
    stopped: list[str] = []
    parts = Parts(bound=0.2)
    parts.add_stop("lease", lambda: stopped.append("lease"))  # a plain function: not awaited
    parts.add(Part("moto", stopped))
    parts.add(Part("alb", stopped, hang=True), name="AlbRuntime")
    parts.add(Part("nth", stopped, fail=True))
    parts.add(Part("karpenter", stopped))
    await asyncio.wait_for(parts.stop(), 5)
    assert stopped == ["karpenter", "moto", "lease"]
    assert parts.slow == ["AlbRuntime"] and parts.failed == ["Part"]
    assert parts.started == []
    await parts.stop()  # a second stop has nothing left to do
    assert stopped == ["karpenter", "moto", "lease"]
