"""The cluster's state over the run, as step series on the run's time axis, for the report's
pictures: serving replicas Ready vs desired, targets per state per target group, nodes per group
and capacity type.  Each series is a list of (t, value) that holds from t until the next point.
Pure: a function of the journal's records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from chaos.journal import Record
from chaos.journal.records import DeploymentRecord, NodeRecord, TargetRecord

Steps = list[tuple[float, int]]
TARGET_STATES = ("healthy", "initial", "draining", "unhealthy")


@dataclass
class ClusterSeries:
    replicas_ready: Steps = field(default_factory=list)
    replicas_desired: Steps = field(default_factory=list)
    targets: dict[tuple[str, str], Steps] = field(default_factory=dict)  # (target group, state) -> count
    nodes: dict[tuple[str, str], Steps] = field(default_factory=dict)  # (group, capacity type) -> Ready nodes


def _step(series: Steps, t: float, value: int) -> None:
    if series and series[-1][0] == t:
        series[-1] = (t, value)
    elif not series or series[-1][1] != value:
        series.append((t, value))


def cluster_series(records: Iterable[Record], deployment: str | None = None) -> ClusterSeries:
    """`deployment`: the serving Deployment's name (default: the first one recorded)."""
    out = ClusterSeries()
    target_state: dict[tuple[str, str], str] = {}
    node_key: dict[str, tuple[str, str]] = {}
    node_ready: dict[str, bool] = {}
    for r in sorted(records, key=lambda r: r.t):
        t = r.t
        if isinstance(r, DeploymentRecord):
            deployment = deployment or r.name
            if r.name == deployment:
                _step(out.replicas_ready, t, r.ready)
                _step(out.replicas_desired, t, r.desired)
        elif isinstance(r, TargetRecord):
            group = r.group or ""
            key = (group, r.target)
            if r.state == "gone":
                target_state.pop(key, None)
            else:
                target_state[key] = r.state
            counts = Counter(s for (g, _), s in target_state.items() if g == group)
            for state in TARGET_STATES:
                if counts.get(state) or (group, state) in out.targets:
                    _step(out.targets.setdefault((group, state), []), t, counts.get(state, 0))
        elif isinstance(r, NodeRecord):
            name = r.node
            node_key[name] = (r.group or "-", r.capacity or "-")
            node_ready[name] = r.ready and not r.deleted
            key = node_key[name]
            ready = sum(1 for n, k in node_key.items() if k == key and node_ready.get(n))
            _step(out.nodes.setdefault(key, []), t, ready)
    return out
