"""`spotchaos sim up`: run the simulator in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import faulthandler
import signal
from collections.abc import Callable
from pathlib import Path

import structlog

from cluster.endpoints import Endpoints, process_alive
from cluster.sim import gc_pauses
from cluster.sim.clock import SimClock
from cluster.sim.config import SimConfig
from cluster.sim.fd_limit import raise_open_files
from cluster.sim.simulator import Simulator

log = structlog.get_logger("sim.runner")
PARENT_POLL_SECONDS = 0.5
# a stop that takes longer than this is stuck: every thread's stack goes to stderr and the process
# exits anyway, so that Ctrl-C or SIGTERM never leaves a simulator behind
STOP_DEADLINE_SECONDS = 15.0


def prepare_for_forks() -> None:
    """For a process that forks simulators: import what a simulator imports on first use too
    (moto's model of each service it answers, loaded on the service's first request) and make
    moto's empty backends, so that the forks share them instead of each paying for them."""
    from moto.backends import get_backend

    from cluster.sim.aws.moto_server import SERVICES, prepare_backends

    for service in SERVICES:
        get_backend(service)  # type: ignore[call-overload]
    prepare_backends()


async def _stop_when_gone(pid: int, stop: asyncio.Event) -> None:
    """Set `stop` once process `pid` has exited: a harness killed with SIGKILL cannot stop the
    simulator it started, so the simulator stops itself."""
    while not stop.is_set():
        if not process_alive(pid):
            log.warning("owner_gone", pid=pid)
            stop.set()
            return
        try:
            await asyncio.wait_for(stop.wait(), PARENT_POLL_SECONDS)
        except TimeoutError:
            pass


async def tasks_left(clock: SimClock, turns: int = 5) -> list[str]:
    """The tasks of this loop still running once the simulator stopped (after a few turns of the
    loop, for cancelled ones to finish): every one is a part that outlived its stop."""
    for _ in range(turns):
        await clock.sleep_real(0)
    me = asyncio.current_task()
    return sorted(t.get_name() + ": " + repr(t.get_coro())[:120] for t in asyncio.all_tasks() if t is not me and not t.done())


async def serve(config: SimConfig, state_dir: Path, on_ready: Callable[[Endpoints], None] | None = None,
                exit_with: int | None = None) -> list[tuple[str, str]]:
    """Start, call `on_ready`, wait for a stop signal (or for process `exit_with` to exit), stop;
    returns the background-task failures."""
    stop = asyncio.Event()
    watcher = asyncio.create_task(_stop_when_gone(exit_with, stop)) if exit_with is not None else None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sim = Simulator(config, state_dir)
    raise_open_files()
    if config.freeze_gc_survivors:
        gc_pauses.install()
    try:
        await sim.start()
        assert sim.endpoints is not None
        if on_ready is not None:
            on_ready(sim.endpoints)
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        faulthandler.dump_traceback_later(STOP_DEADLINE_SECONDS, exit=True)
        try:
            await sim.stop()
            if watcher is not None:
                await asyncio.gather(watcher, return_exceptions=True)
            left = await tasks_left(sim.clock)
            if left:
                log.error("tasks_left_after_stop", tasks=left)
        finally:
            faulthandler.cancel_dump_traceback_later()
        gc_pauses.uninstall()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return sim.tasks.failures
