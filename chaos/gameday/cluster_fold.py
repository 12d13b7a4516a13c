"""What the game-day screen shows beside the interrupted nodes and the traffic, kept record by
record (a journal listener, like chaos/evidence/traffic_fold.py): target health per target group, nodes per
group and capacity type, the serving Deployment's replicas, FIS experiments' states, the phase,
the latest cluster time, and the notes.  Each record costs O(1)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from chaos.journal import Record
from chaos.journal.records import (
    DeploymentRecord,
    FisRecord,
    InjectedRecord,
    NodeRecord,
    NoteRecord,
    PhaseRecord,
    TargetRecord,
    VerdictRecord,
)


@dataclass
class NodeState:
    group: str
    capacity: str
    ready: bool


@dataclass
class ClusterFold:
    phase: str = "starting"
    now: float = 0.0
    targets: dict[tuple[str, str], str] = field(default_factory=dict)  # (target group, target) -> state
    nodes: dict[str, NodeState] = field(default_factory=dict)
    replicas: dict[str, tuple[int, int]] = field(default_factory=dict)  # namespace/name -> (ready, desired)
    fis: dict[str, str] = field(default_factory=dict)  # experiment id -> state
    notes: list[NoteRecord] = field(default_factory=list)
    injected: list[InjectedRecord] = field(default_factory=list)
    verdict: VerdictRecord | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, r: Record) -> None:
        with self._lock:
            self.now = max(self.now, r.t)
            if isinstance(r, PhaseRecord):
                self.phase = r.phase
            elif isinstance(r, TargetRecord):
                key = (r.group or "", r.target)
                if r.state == "gone":
                    self.targets.pop(key, None)
                else:
                    self.targets[key] = r.state
            elif isinstance(r, NodeRecord):
                if r.deleted:
                    self.nodes.pop(r.node, None)
                else:
                    self.nodes[r.node] = NodeState(r.group or "-", r.capacity or "-", r.ready)
            elif isinstance(r, DeploymentRecord):
                self.replicas[f"{r.namespace}/{r.name}"] = (r.ready, r.desired)
            elif isinstance(r, FisRecord):
                self.fis[r.experiment] = r.state
            elif isinstance(r, NoteRecord):
                self.notes.append(r)
            elif isinstance(r, InjectedRecord):
                self.injected.append(r)
            elif isinstance(r, VerdictRecord):
                self.verdict = r

    def target_counts(self) -> dict[str, Counter[str]]:
        """Per target group, how many targets are in each state."""
        with self._lock:
            out: dict[str, Counter[str]] = {}
            for (group, _), state in self.targets.items():
                out.setdefault(group, Counter())[state] += 1
            return out

    def node_counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (group, capacity type): (Ready nodes, nodes)."""
        with self._lock:
            out: dict[tuple[str, str], tuple[int, int]] = {}
            for n in self.nodes.values():
                ready, total = out.get((n.group, n.capacity), (0, 0))
                out[(n.group, n.capacity)] = (ready + n.ready, total + 1)
            return out
