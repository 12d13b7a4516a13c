"""Where the simulator's clock is read by others: its anchor in the clock file (every heartbeat:
cluster/published_clock.py), and, once a second, the effective speed and how long the clock stood
still in the `kube-system/spotchaos-sim` ConfigMap, where `kubectl` shows them."""

from __future__ import annotations

from pathlib import Path

import structlog

from cluster.published_clock import ClockReading, ClockWriter
from cluster.sim.clock import SimClock
from cluster.sim.kube.api import KubeApi

log = structlog.get_logger("sim.clock")

SLOW = 0.9  # an effective speed under this share of the nominal one is logged: the simulator could not keep up


class ClockPublisher:
    def __init__(self, clock: SimClock, api: KubeApi, configmap: tuple[str, str], path: Path | None) -> None:
        self.clock, self.api, self.configmap = clock, api, configmap
        self.writer = ClockWriter(path) if path is not None else None
        self._last_speed: float | None = None
        clock.on_beat.append(self.beat)

    def beat(self, clock: SimClock) -> None:
        mono, cluster_ts, cap = clock.anchor()
        if self.writer is not None:
            self.writer.write(ClockReading(mono, cluster_ts, clock.speed, cap, clock.stalled_total, clock.effective_speed, clock.lag_max,
                                           clock.runq_share))
        if clock.effective_speed != self._last_speed:  # a new second was measured
            self._last_speed = clock.effective_speed
            self._configmap(clock)
            if clock.effective_speed < SLOW * clock.speed:
                log.info("clock_slowed", effective_speed=round(clock.effective_speed, 2), speed=clock.speed, lag_max_ms=round(clock.lag_max * 1000, 1))

    def _configmap(self, clock: SimClock) -> None:
        data = {"clockSpeed": str(clock.speed), "clockEffectiveSpeed": f"{clock.effective_speed:.3f}", "clockStalledSeconds": f"{clock.stalled_total:.3f}",
                "clockLagMaxMs": f"{clock.lag_max * 1000:.1f}", "cpuWaitShare": f"{clock.runq_share:.3f}"}
        try:
            self.api.patch(self.api.rt("ConfigMap"), self.configmap[0], self.configmap[1], "application/merge-patch+json", {"data": data})
        except Exception:  # noqa: BLE001 - deleted by a user, say: the clock file still has it
            log.debug("clock_configmap_not_updated")

    def close(self) -> None:
        self.clock.on_beat.remove(self.beat)
        if self.writer is not None:
            self.writer.close()
