"""`spotchaos sim up`: run the simulator in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

from cluster.endpoints import Endpoints
from cluster.sim.config import SimConfig
from cluster.sim.simulator import Simulator


async def serve(config: SimConfig, state_dir: Path, on_ready: Callable[[Endpoints], None] | None = None) -> list[tuple[str, str]]:
    """Start, call `on_ready`, wait for a stop signal, stop; returns the background-task failures."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sim = Simulator(config, state_dir)
    try:
        await sim.start()
        assert sim.endpoints is not None
        if on_ready is not None:
            on_ready(sim.endpoints)
        await stop.wait()
    finally:
        await sim.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return sim.tasks.failures
