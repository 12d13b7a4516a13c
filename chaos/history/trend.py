"""An experiment's hypotheses and node milestones over its recorded runs (pure): each hypothesis's
values against its bound, its pass rate, and whether it is flaky, meaning it both passed and
failed on runs of the same experiment content, profile, spotchaos version and versions of the
cluster's Kubernetes, NTH, CA and LBC (nothing that should change the answer changed); each milestone's slowest node per run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Point:
    started: str
    value: float | None
    status: str
    run_id: str
    run_dir: str


@dataclass
class HypothesisTrend:
    name: str
    check: str
    bound: str
    points: list[Point] = field(default_factory=list)
    flaky_on: list[str] = field(default_factory=list)  # "profile, version, content hash" where it both passed and failed

    @property
    def pass_rate(self) -> float:
        decided = [p for p in self.points if p.status in ("pass", "fail")]
        return sum(p.status == "pass" for p in decided) / len(decided) if decided else 0.0

    @property
    def flaky(self) -> bool:
        return bool(self.flaky_on)

    @property
    def latest(self) -> str:
        """The last run's result and value, as the table and the Markdown show it: `fail (5)`."""
        last = self.points[-1]
        return f"{last.status} ({'-' if last.value is None else f'{last.value:g}'})"


COMPONENT_COLUMNS = (("kubernetes_version", "Kubernetes"), ("nth_version", "NTH"), ("cluster_autoscaler_version", "CA"), ("lbc_version", "LBC"),
                     ("karpenter_version", "Karpenter"))


def _components(row: dict[str, Any]) -> str:
    """The cluster's component versions of a run, as one label ("" when not recorded)."""
    return ", ".join(f"{label} {row[col]}" for col, label in COMPONENT_COLUMNS if row.get(col))


def trends(rows: list[dict[str, Any]]) -> list[HypothesisTrend]:
    """Rows of store.hypothesis_history, oldest first, into one trend per hypothesis."""
    by_name: dict[str, HypothesisTrend] = {}
    outcomes: dict[tuple[str, str, str, str, str], set[str]] = {}
    for r in rows:
        t = by_name.setdefault(r["name"], HypothesisTrend(r["name"], r["check"], r["bound"]))
        t.bound = r["bound"]  # the latest bound
        t.points.append(Point(r["started"], r["value"], r["status"], r["run_id"], r["run_dir"]))
        outcomes.setdefault((r["name"], r["profile"], r["spotchaos_version"], r["content_hash"], _components(r)), set()).add(r["status"])
    for (name, profile, version, content, components), seen in outcomes.items():
        if {"pass", "fail"} <= seen:
            by_name[name].flaky_on.append(f"profile {profile or '-'}, spotchaos {version}, experiment {content}" + (f", {components}" if components else ""))
    return list(by_name.values())


@dataclass
class MilestoneTrend:
    """A node milestone over the runs: per run the slowest interrupted node's seconds after its notice."""

    milestone: str
    points: list[tuple[str, float]] = field(default_factory=list)  # (started, seconds)

    @property
    def median(self) -> float:
        values = sorted(v for _, v in self.points)
        return values[len(values) // 2]


def milestone_trends(rows: list[dict[str, Any]]) -> list[MilestoneTrend]:
    """Rows of store.milestone_history, oldest first, into one trend per milestone."""
    worst: dict[str, dict[tuple[str, str], float]] = {}
    for r in rows:
        if r["seconds"] is None:
            continue
        per_run = worst.setdefault(r["milestone"], {})
        key = (r["started"], r["run_id"])
        per_run[key] = max(r["seconds"], per_run.get(key, r["seconds"]))
    return [MilestoneTrend(name, [(started, v) for (started, _), v in sorted(runs.items())]) for name, runs in worst.items()]


def bound_value(bound: str) -> float | None:
    """The number in a bound, in the unit of the measured values: '<= 10s after the notice' 10,
    '>= 80% of desired' 0.8 (shares are measured as shares), '<= 2000 ms' 2000."""
    m = re.search(r"(-?\d+(?:\.\d+)?)\s*(%)?", bound)
    if not m:
        return None
    value = float(m.group(1))
    return value / 100 if m.group(2) else value
