"""Whether a breach was measured on a starved machine: the run's own health records (chaos/observe/
health.py) and the load generator's lateness (per traffic second) say when the harness, the
generator or the simulator could not keep up, and a breach that only shows in those moments is
`inconclusive`, naming what was starved, never `failed`.  A breach that still shows when the
starved moments are left out was measured on a healthy machine: it stays a failure.  Pure.

What counts as starved (real milliseconds; the bounds are the experiment's):
- for node checks (cluster-time figures, which the simulator's clock keeps whatever its load): the
  harness's event loop late, in cluster seconds, by at least as much as the figure missed its
  bound (it stamps what it watches when it gets to it), and by STARVED_LAG_MS or more;
- for traffic checks (real-time figures): in a second of traffic, the generator sending requests
  late by more than a tenth of the latency bound (of the request timeout for error checks), or,
  while its requests were in flight (to its slowest answer, as measured), the harness's or the
  simulator's loop late by STARVED_LAG_MS or more or waiting for a CPU CPU_WAIT_LIMIT of a second
  or more."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chaos.journal import Record, of
from chaos.journal.records import HealthRecord, TrafficRecord

STARVED_LAG_MS = 250.0  # a loop this late cannot serve or send requests at their modelled latency
CPU_WAIT_LIMIT = 0.2  # a loop ready to run but waiting for a CPU this share of a second is starved by the OS
SHARE_OF_BOUND = 0.1  # lateness past this share of a bound can move a figure across it


@dataclass(frozen=True)
class Health:
    """One second of the run's health, as its record says."""

    start_t: float
    end_t: float
    harness_lag_ms: float
    sim_lag_ms: float
    speed: float
    harness_cpu_wait: float = 0.0
    sim_cpu_wait: float = 0.0

    @classmethod
    def of(cls, r: HealthRecord) -> Health:
        return cls(r.start_t, r.end_t, r.harness_lag_ms, r.sim_lag_ms or 0.0, r.speed or 1.0, r.harness_cpu_wait or 0.0, r.sim_cpu_wait or 0.0)

    @property
    def worst_lag_ms(self) -> float:
        return max(self.harness_lag_ms, self.sim_lag_ms)

    @property
    def worst_cpu_wait(self) -> float:
        return max(self.harness_cpu_wait, self.sim_cpu_wait)


def health_of(records: Iterable[Record]) -> list[Health]:
    return [Health.of(r) for r in of(records, HealthRecord)]


def _overlapping(health: list[Health], start: float, end: float) -> list[Health]:
    return [h for h in health if h.end_t > start and h.start_t < end]


@dataclass(frozen=True)
class Starved:
    """Why the figures of a window cannot be trusted, in words a reader acts on."""

    cause: str

    def __str__(self) -> str:
        return self.cause


def _lag_cause(worst: Health, what: str) -> str:
    loop = "the harness's event loop" if worst.harness_lag_ms >= worst.sim_lag_ms else "the simulator's event loop"
    return f"{loop} lagged {worst.worst_lag_ms:,.0f} ms at t={worst.start_t:.0f}s while it {what}: the host was starved"


def node_window_starved(health: list[Health], start: float, end: float, overshoot_s: float) -> Starved | None:
    """A node's deciding window [start, end] (run seconds), whose figure missed its bound by
    `overshoot_s` cluster seconds: starved when the harness, which stamps a milestone when it gets
    to its watch event, ran late enough in that window to account for the miss (its loop's lag in
    cluster seconds at least the overshoot).  A figure far past its bound (a node reclaimed 87 s
    before it was drained) is a failure whatever the machine did."""
    seen = _overlapping(health, start, end)
    if not seen:
        return None
    worst = max(seen, key=lambda h: h.harness_lag_ms / 1000 * h.speed)
    late_s = worst.harness_lag_ms / 1000 * worst.speed
    if late_s < overshoot_s or worst.harness_lag_ms < STARVED_LAG_MS:
        return None
    return Starved(f"the harness's event loop lagged {worst.harness_lag_ms:,.0f} ms at t={worst.start_t:.0f}s ({late_s:.1f} cluster seconds at "
                   f"speed {worst.speed:g}, as much as the figure missed its bound by) while it watched the node: the host was starved")


def starved_seconds(traffic: list[TrafficRecord], health: list[Health], late_limit_ms: float, timeout_s: float, speed: float) -> dict[int, str]:
    """The traffic seconds (by `second`) whose requests were sent or served while something was
    starved, each with why: the generator sent them late past `late_limit_ms`, or a loop lagged
    STARVED_LAG_MS or more, or waited for a CPU CPU_WAIT_LIMIT of a second, while they were in
    flight (request_window)."""
    out: dict[int, str] = {}
    for r in traffic:
        late = r.late_max_ms
        if late > late_limit_ms:
            out[r.second] = (f"the load generator sent {r.late} of {r.requests} requests of second "
                             f"{r.second} up to {late:,.0f} ms late (over {late_limit_ms:,.0f} ms): the host was starved")
            continue
        around = _overlapping(health, *request_window(r, timeout_s, speed))
        lagging = [h for h in around if h.worst_lag_ms >= STARVED_LAG_MS]
        waiting = [h for h in around if h.worst_cpu_wait >= CPU_WAIT_LIMIT]
        if lagging:
            out[r.second] = _lag_cause(max(lagging, key=lambda h: h.worst_lag_ms), "sent and served requests")
        elif waiting:
            out[r.second] = _wait_cause(max(waiting, key=lambda h: h.worst_cpu_wait))
    return out


REPORT_DELAY_S = 1.0  # real seconds: the simulator's lag and CPU wait reach the harness's health record of the next second


def request_window(r: TrafficRecord, timeout_s: float, speed: float) -> tuple[float, float]:
    """The run seconds the requests of traffic second `r` were in flight: from its start to its end
    plus its slowest request (latency counts from the scheduled send, so it holds the generator's
    own lateness), plus the second a simulator's figures take to be reported; the request timeout
    when the second has no latency.  `speed`: cluster seconds per real second (the fastest the
    run's clock went, so the window is never too short).  A loop starved after every request of a
    second was answered did not change its numbers."""
    slowest_s = r.max_ms / 1000 if r.max_ms is not None else timeout_s
    return r.start_t, r.end_t + (slowest_s + REPORT_DELAY_S) * speed


def _wait_cause(worst: Health) -> str:
    who = "the harness" if worst.harness_cpu_wait >= worst.sim_cpu_wait else "the simulator"
    return (f"{who} waited for a CPU {worst.worst_cpu_wait:.0%} of the second at t={worst.start_t:.0f}s (the kernel's run-queue time) "
            "while it sent and served requests: the host was starved")


def starved_lately(health: list[Health], since: float) -> str | None:
    """Why the run was starved since run time `since`, if it was (for a reason given at the moment,
    like a stop condition's abort): the worst second, in words."""
    recent = [h for h in health if h.end_t > since and (h.worst_lag_ms >= STARVED_LAG_MS or h.worst_cpu_wait >= CPU_WAIT_LIMIT)]
    if not recent:
        return None
    worst = max(recent, key=lambda h: (h.worst_cpu_wait >= CPU_WAIT_LIMIT, h.worst_lag_ms))
    return _lag_cause(worst, "sent and served requests") if worst.worst_lag_ms >= STARVED_LAG_MS else _wait_cause(worst)


@dataclass(frozen=True)
class HealthSummary:
    """The run's health over its seconds, for the reports."""

    seconds: int
    harness_lag_max_ms: float
    sim_lag_max_ms: float
    cpu_wait_max: float
    speed_min: float
    speed_median: float
    starved_seconds: int  # seconds a loop lagged STARVED_LAG_MS or waited CPU_WAIT_LIMIT or more

    def line(self, nominal_speed: float) -> str:
        return (f"{self.seconds} seconds measured: the harness's event loop lagged at most {self.harness_lag_max_ms:,.0f} ms, the "
                f"simulator's {self.sim_lag_max_ms:,.0f} ms; the most either waited for a CPU was {self.cpu_wait_max:.0%} of a second; "
                f"the cluster's clock ran at {self.speed_median:g}x (slowest {self.speed_min:g}x, nominal {nominal_speed:g}x); "
                f"{self.starved_seconds} second{'s' if self.starved_seconds != 1 else ''} starved.")


def health_summary(health: list[Health]) -> HealthSummary | None:
    if not health:
        return None
    speeds = sorted(h.speed for h in health)
    return HealthSummary(len(health), max(h.harness_lag_ms for h in health), max(h.sim_lag_ms for h in health),
                         max(h.worst_cpu_wait for h in health), round(speeds[0], 2), round(speeds[len(speeds) // 2], 2),
                         sum(1 for h in health if h.worst_lag_ms >= STARVED_LAG_MS or h.worst_cpu_wait >= CPU_WAIT_LIMIT))
