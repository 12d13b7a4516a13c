"""Regressions before failures (pure): the latest run's measurements against a baseline, the
median and spread of the last passing runs of the same experiment, target and profile.  A
measurement regressed when it moved toward its bound by more than `tolerance` of the headroom
the baseline had, by more than three standard deviations (estimated from the baseline's median
absolute deviation) and past every baseline run (a value the baseline itself reached is not
news), even while it still passes.  Node milestones have no bound: one regressed when the
slowest interrupted node reached it later than its baseline by more than `tolerance` of the
baseline, three standard deviations, every baseline run and MIN_SLOWDOWN_S (10 s)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from chaos.history.trend import bound_value

DEFAULT_TOLERANCE = 0.5  # half the headroom between the baseline and the bound
DEFAULT_BASELINE_RUNS = 10
MIN_BASELINE_RUNS = 3
MAD_TO_SIGMA = 1.4826  # a normal distribution's standard deviation per median absolute deviation
# cluster seconds a milestone must move before it counts: the pollers' period (5 cluster seconds at
# the simulator's speed 10), NTH's own polling and the drain's steps jitter single runs by this much
MIN_SLOWDOWN_S = 10.0
# milestones whose time the fault sets, not the system under test
FIXED_MILESTONES = frozenset({"notice", "reclaimed"})


@dataclass(frozen=True)
class Regression:
    name: str
    bound: str
    baseline: float  # median of the baseline runs
    spread: float  # median absolute deviation
    latest: float
    runs: int  # baseline runs compared with

    def line(self) -> str:
        return (f"{self.name}: {self.latest:g}, was {self.baseline:g} (median of the last {self.runs} passing runs, spread {self.spread:g}); "
                f"bound {self.bound}")


def _direction(bound: str) -> int | None:
    """+1 when larger is worse (a maximum: `<= ...`), -1 when smaller is worse (a minimum: `>= ...`)."""
    if bound.startswith("<="):
        return 1
    if bound.startswith(">="):
        return -1
    return None


def regressions(latest: list[dict[str, Any]], baseline_runs: list[list[dict[str, Any]]], tolerance: float = DEFAULT_TOLERANCE) -> list[Regression]:
    """`latest`: the run's hypothesis rows; `baseline_runs`: each earlier passing run's rows."""
    out = []
    for h in latest:
        value, direction, limit = h.get("value"), _direction(h.get("bound") or ""), bound_value(h.get("bound") or "")
        if value is None or direction is None or limit is None:
            continue
        past = [r["value"] for run in baseline_runs for r in run if r["name"] == h["name"] and r.get("value") is not None]
        if len(past) < MIN_BASELINE_RUNS:
            continue
        median = statistics.median(past)
        spread = statistics.median(abs(v - median) for v in past)
        headroom = (limit - median) * direction
        moved = (value - median) * direction  # > 0: toward the bound
        worst = max((v - median) * direction for v in past)
        if headroom > 0 and moved > tolerance * headroom and moved > 3 * MAD_TO_SIGMA * spread and moved > worst:
            out.append(Regression(h["name"], h["bound"], round(median, 3), round(spread, 3), round(value, 3), len(past)))
    return out


def _slowest(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per milestone, the slowest node's seconds after its notice in one run."""
    out: dict[str, float] = {}
    for r in rows:
        if r.get("seconds") is not None and r["milestone"] not in FIXED_MILESTONES:
            out[r["milestone"]] = max(float(r["seconds"]), out.get(r["milestone"], float("-inf")))
    return out


def milestone_regressions(latest: list[dict[str, Any]], baseline_runs: list[list[dict[str, Any]]],
                          tolerance: float = DEFAULT_TOLERANCE) -> list[Regression]:
    """`latest`: the run's milestone rows; `baseline_runs`: each earlier passing run's."""
    past_runs = [_slowest(run) for run in baseline_runs]
    out = []
    for name, value in sorted(_slowest(latest).items()):
        past = [run[name] for run in past_runs if name in run]
        if len(past) < MIN_BASELINE_RUNS:
            continue
        median = statistics.median(past)
        spread = statistics.median(abs(v - median) for v in past)
        if value - median > max(tolerance * abs(median), 3 * MAD_TO_SIGMA * spread, max(past) - median, MIN_SLOWDOWN_S):
            out.append(Regression(f"milestone {name}", "none: slower than its baseline (seconds after the notice, slowest node)",
                                  round(median, 3), round(spread, 3), round(value, 3), len(past)))
    return out
