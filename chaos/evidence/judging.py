"""How a check judges, shared by every check: a hypothesis's and a node's status, the result a
judge returns, the evidence it reads (the journal so far, node milestones and traffic computed once
and only when a judge asks) and the shapes most checks share (a milestone within a bound of the
notice, before the reclaim, and the worst node).  Pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from chaos.evidence.milestones import NodeMilestones, node_milestones
from chaos.evidence.traffic_stats import TrafficStats, traffic_stats
from chaos.journal import Record, of
from chaos.journal.records import InjectedRecord


class Status(StrEnum):
    """A hypothesis's (and a node's) status; equal to its string in JSON and comparisons."""

    PASS = "pass"
    FAIL = "fail"
    UNDECIDED = "undecided"
    NOT_APPLICABLE = "n/a"
    INCONCLUSIVE = "inconclusive"  # breached only where the run was starved (chaos/evidence/starvation.py)


PASS, FAIL, UNDECIDED, NOT_APPLICABLE, INCONCLUSIVE = Status.PASS, Status.FAIL, Status.UNDECIDED, Status.NOT_APPLICABLE, Status.INCONCLUSIVE


@dataclass
class NodeResult:
    node: str | None
    instance: str
    value: float | None
    status: Status
    note: str = ""


@dataclass
class HypothesisResult:
    name: str
    check: str
    bound: str
    measured: str
    value: float | None
    status: Status
    detail: str = ""
    nodes: list[NodeResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def seconds_text(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}s"


def share_text(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.3g}%"


UNWARNED = "lost without notice"


def within(nodes: list[NodeMilestones], milestone: str, bound: float, now: float, final: bool, needs_notice: bool = True) -> list[NodeResult]:
    out = []
    for m in nodes:
        if needs_notice and not m.warned:
            out.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, UNWARNED))
            continue
        took = m.since_notice(milestone)
        if took is not None:
            out.append(NodeResult(m.node, m.instance, took, PASS if took <= bound else FAIL))
        elif now - m.notice > bound:
            out.append(NodeResult(m.node, m.instance, None, FAIL, f"no {milestone.replace('_', ' ')} within {bound:g}s"))
        else:
            out.append(NodeResult(m.node, m.instance, None, FAIL if final else UNDECIDED, f"no {milestone.replace('_', ' ')} seen"))
    return out


def before_reclaim(nodes: list[NodeMilestones], milestone: str, margin: float, now: float, final: bool, what: str) -> list[NodeResult]:
    out = []
    for m in nodes:
        if not m.reclaims:
            out.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, "no reclaim for this injection"))
            continue
        if not m.warned:
            out.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, f"{UNWARNED}: nothing could act before the loss"))
            continue
        if milestone.startswith("target") and not m.targets_at_notice and m.target_draining is None:
            out.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, "the node had no load balancer targets"))
            continue
        done = getattr(m, milestone)
        if m.reclaimed is not None:
            if done is None or done > m.reclaimed:
                out.append(NodeResult(m.node, m.instance, None if done is None else round(m.reclaimed - done, 3), FAIL, f"reclaimed before {what}"))
            else:
                gap = round(m.reclaimed - done, 3)
                out.append(NodeResult(m.node, m.instance, gap, PASS if gap >= margin else FAIL))
        elif done is not None and now - done >= margin:
            out.append(NodeResult(m.node, m.instance, round(now - done, 3), PASS, "not reclaimed yet"))
        else:
            out.append(NodeResult(m.node, m.instance, None, FAIL if final else UNDECIDED, "not reclaimed yet" if done is not None else f"not {what} yet"))
    return out


def aggregate(name: str, check: str, bound: str, results: list[NodeResult], worst: str) -> HypothesisResult:
    """The hypothesis from its nodes: failed if one failed, undecided if one is, else passed; the
    worst (`max` or `min`) of the nodes that count is its measure."""
    counted = [r for r in results if r.status != NOT_APPLICABLE]
    if not results:
        return HypothesisResult(name, check, bound, "no node interrupted", None, UNDECIDED, "nothing was interrupted", results)
    if not counted:
        return HypothesisResult(name, check, bound, "n/a", None, PASS, results[0].note, results)
    status = FAIL if any(r.status == FAIL for r in counted) else UNDECIDED if any(r.status == UNDECIDED for r in counted) else PASS
    bad = [r for r in counted if r.status != PASS]
    value, measured = _worst(counted, status, bad, worst)
    detail = "; ".join(f"{r.node or r.instance}: {r.note or seconds_text(r.value)}" for r in bad[:5])
    return HypothesisResult(name, check, bound, measured, value, status, detail, results)


def _worst(counted: list[NodeResult], status: Status, bad: list[NodeResult], worst: str) -> tuple[float | None, str]:
    """(value, measured text) of a hypothesis.  A failed hypothesis shows what failed it: the worst
    of a passing node must never stand as the measure of a breach (it would read "worst 191 s,
    bound <= 300 s" and contradict itself); a node that failed with no figure ("no cordon within
    10s") is the measure then."""
    shown = [r for r in counted if r.status == FAIL] if status == FAIL else counted
    values = [r.value for r in shown if r.value is not None]
    unmeasured = status == FAIL and len(values) < len(shown)
    value = None if unmeasured or not values else max(values) if worst == "max" else min(values)
    if value is not None:
        return value, f"{'worst' if len(counted) > 1 else ''} {seconds_text(value)}".strip()
    noted = [r for r in shown if r.value is None and r.note] or bad
    return None, noted[0].note if noted else "-"


@dataclass
class Evidence:
    """What the judges read: the journal so far and where the run is; milestones and traffic are
    computed once, and only when a judge asks."""

    records: list[Record]
    now: float
    final: bool
    known_nodes: list[NodeMilestones] | None = None  # already folded (the run's MilestoneFold)

    @cached_property
    def nodes(self) -> list[NodeMilestones]:
        return self.known_nodes if self.known_nodes is not None else node_milestones(self.records)

    @cached_property
    def traffic(self) -> TrafficStats:
        return traffic_stats(self.records)

    @cached_property
    def first_injection(self) -> float | None:
        return min((r.t for r in of(self.records, InjectedRecord)), default=None)

    def status_of(self, ok: bool) -> Status:
        """A bound over the whole experiment: broken is failed at once, held is passed only at the end."""
        return (PASS if ok else FAIL) if self.final else (UNDECIDED if ok else FAIL)
