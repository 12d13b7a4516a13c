"""The live view of a run on the terminal: phase, each interrupted node's milestones so far, and
the traffic's latest error rate and p99.  Redrawn a few times a second from the run's folds
(chaos/evidence/milestones.py, chaos/evidence/traffic_fold.py), never by rescanning the journal."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chaos.evidence.milestones import NodeMilestones
from chaos.evidence.traffic_fold import TrafficFold
from chaos.terminal.names import short_name

SHOWN = ("taint", "cordon", "first_eviction", "drained", "target_draining", "reclaimed", "replacement_ready", "replicas_restored")
# the headings, short enough that a row fits 80 columns whole (the reports name each milestone in full)
HEADINGS = ("taint", "cordon", "evict", "drained", "tg-drn", "reclaim", "repl-ok", "restored")


def view(name: str, phase: str, now: float, nodes: list[NodeMilestones], traffic: TrafficFold) -> Group:
    recent = traffic.recent(5)
    n = sum(s.requests for s in recent)
    rate = sum(s.errors for s in recent) / n if n else 0.0
    p99 = max((s.p99_ms or 0 for s in recent), default=0.0)
    head = Text.assemble((f"{name}", "bold"), f"  phase {phase}  t={now:.0f}s  ",
                         (f"errors {rate:.2%}", "red" if rate else "green"), f"  p99 {p99:.0f} ms  requests {traffic.requests}")
    table = Table("node", "notice", *HEADINGS, box=None, pad_edge=False, padding=(0, 1, 0, 0))
    for column in table.columns:
        column.no_wrap, column.overflow = True, "ellipsis"  # never a name folded onto two lines
    for m in nodes:
        table.add_row(short_name(m.node or m.instance), f"{m.notice:.0f}", *[("-" if m.since_notice(k) is None else f"+{m.since_notice(k):.0f}s") for k in SHOWN])
    return Group(head, table)
