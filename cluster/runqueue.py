"""How long this process's main thread (its event loop) waited for a CPU while it was ready to run:
the kernel's own measure of starvation (/proc/self/schedstat, its second field, in nanoseconds).
A loop that waits a fifth of every second for the CPU serves nothing at its modelled latency,
whatever it has to do."""

from __future__ import annotations

from pathlib import Path

SCHEDSTAT = Path("/proc/self/schedstat")


def runqueue_wait() -> float | None:
    """Seconds the main thread has waited on a run queue since it started; None where the kernel
    does not say (not Linux, or schedstats off)."""
    try:
        return int(SCHEDSTAT.read_text().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None
