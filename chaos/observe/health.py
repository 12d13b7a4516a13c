"""The run measuring itself: once a real second, how late the harness's own event loop ran (a
heartbeat every 20 ms) and how long it waited for a CPU (the kernel's run-queue time), how fast the
cluster's clock moved, how far the simulator's loop lagged, waited for a CPU and its clock stood
still (its published clock), the machine's CPU steal and load.  A `health` record
each second, beside the traffic; the verdict reads them to tell a breach measured on a starved
machine (inconclusive) from one measured on a healthy one (failed)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from chaos.clock import RunClock
from chaos.journal import Journal
from chaos.journal.records import HealthRecord
from cluster.published_clock import ClockReader, ClockReading
from cluster.runqueue import runqueue_wait

HEARTBEAT = 0.02  # real seconds
PROC_STAT = Path("/proc/stat")
LOADAVG = Path("/proc/loadavg")


def _cpu_times() -> tuple[int, int] | None:
    """(total, steal) jiffies of the machine, or None off Linux."""
    try:
        fields = PROC_STAT.read_text().split("\n", 1)[0].split()[1:]
        values = [int(v) for v in fields]
    except (OSError, ValueError, IndexError):
        return None
    return sum(values[:8]), (values[7] if len(values) > 7 else 0)


def _load1() -> float | None:
    try:
        return float(LOADAVG.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class HealthMonitor:
    def __init__(self, journal: Journal, clock: RunClock, sim_clock: ClockReader | None) -> None:
        self.journal, self.clock, self.sim_clock = journal, clock, sim_clock
        self.task: asyncio.Task[None] | None = None

    @classmethod
    def for_clock_file(cls, journal: Journal, clock: RunClock, clock_file: str | None) -> HealthMonitor:
        reader = None
        if clock_file:
            try:
                reader = ClockReader(Path(clock_file))
            except (OSError, ValueError):
                reader = None
        return cls(journal, clock, reader)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="health")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        if self.sim_clock is not None:
            self.sim_clock.close()
            self.sim_clock = None

    async def _run(self) -> None:
        second_start, t_start, worst = time.monotonic(), self.clock.now(), 0.0
        cpu, sim, runq = _cpu_times(), self._sim(), runqueue_wait()
        last = second_start
        while True:
            await self.clock.sleep_real(HEARTBEAT)
            now = time.monotonic()
            worst = max(worst, now - last - HEARTBEAT)
            last = now
            if now - second_start < 1.0:
                continue
            t_end = self.clock.now()
            cpu_now, sim_now, runq_now = _cpu_times(), self._sim(), runqueue_wait()
            steal = round(100.0 * (cpu_now[1] - cpu[1]) / (cpu_now[0] - cpu[0]), 2) if cpu is not None and cpu_now is not None and cpu_now[0] > cpu[0] else None
            simulated = sim is not None and sim_now is not None
            record = HealthRecord(start_t=round(t_start, 3), end_t=round(t_end, 3), harness_lag_ms=round(max(0.0, worst) * 1000, 1),
                                  speed=round((t_end - t_start) / (now - second_start), 3), load1=_load1(), cpus=os.cpu_count(), steal_pct=steal,
                                  sim_lag_ms=round(sim_now.lag_max * 1000, 1) if simulated else None,  # type: ignore[union-attr]
                                  sim_stalled_s=round(max(0.0, sim_now.stalled_total - sim.stalled_total), 3) if simulated else None,  # type: ignore[union-attr]
                                  sim_cpu_wait=round(sim_now.runq_share, 3) if simulated else None,  # type: ignore[union-attr]
                                  harness_cpu_wait=None if runq is None or runq_now is None else round(min(1.0, (runq_now - runq) / (now - second_start)), 3))
            self.journal.write(record, t=round(t_end, 3))
            second_start, t_start, worst, cpu, sim, runq = now, t_end, 0.0, cpu_now, sim_now, runq_now

    def _sim(self) -> ClockReading | None:
        if self.sim_clock is None:
            return None
        try:
            return self.sim_clock.reading()
        except (OSError, ValueError, RuntimeError):
            return None
