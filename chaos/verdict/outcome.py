"""Verdicts: each hypothesis measured against its bound over the journal, pass / fail / undecided,
and the experiment's outcome (passed 0, failed 1, aborted 2, error 3).  Pure functions; `now` is
the run time the journal reaches (for "not cordoned yet, and it is already too late")."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from chaos.checks.p99_latency import P99Latency
from chaos.evidence.judging import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    UNDECIDED,
    Evidence,
    HypothesisResult,
)
from chaos.evidence.milestones import NodeMilestones, node_milestones
from chaos.evidence.starvation import (
    SHARE_OF_BOUND,
    Health,
    health_of,
    node_window_starved,
    starved_seconds,
)
from chaos.fields import Scope
from chaos.journal import Record, of
from chaos.journal.records import (
    AbortRecord,
    DryRunRecord,
    ErrorRecord,
    InjectedRecord,
    TrafficRecord,
    UndoneRecord,
)
from chaos.spec import CHECK_SCOPES, Experiment, hypothesis_name
from chaos.undo.log import failed_undos, intents


class Outcome(StrEnum):
    """The experiment's verdict, and its exit code."""

    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"
    ERROR = "error"
    INCONCLUSIVE = "inconclusive"  # no breach measured on a healthy machine, but one measured on a starved one

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]


# 4 is `run --fail-on-regression`'s "passed, but regressed"
EXIT_CODES = {Outcome.PASSED: 0, Outcome.FAILED: 1, Outcome.ABORTED: 2, Outcome.ERROR: 3, Outcome.INCONCLUSIVE: 5}


@dataclass
class Verdict:
    status: Outcome
    reason: str
    hypotheses: list[HypothesisResult]

    @property
    def exit_code(self) -> int:
        return Outcome(self.status).exit_code

    @property
    def breached(self) -> list[HypothesisResult]:
        return [h for h in self.hypotheses if h.status in (FAIL, UNDECIDED)]

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "exit_code": self.exit_code, "reason": self.reason, "hypotheses": [h.as_dict() for h in self.hypotheses]}


# --------------------------------------------------------------------------- all together

def evaluate(spec: Experiment, records: list[Record], now: float, final: bool, scopes: frozenset[Scope] | None = None,
             nodes: list[NodeMilestones] | None = None) -> list[HypothesisResult]:
    """Each hypothesis (of `scopes`, default all) judged over the journal so far (`nodes`: its node
    milestones when a fold already holds them)."""
    ev = Evidence(records, now, final, nodes)
    out: list[HypothesisResult] = []
    for h in spec.hypotheses:
        if scopes is not None and h.scope not in scopes:
            continue
        result = h.judge(hypothesis_name(h), ev)
        if final and result.status == UNDECIDED:
            result.detail = result.detail or "still open when the experiment ended"
        out.append(result)
    return out


def node_checks_decided(results: list[HypothesisResult]) -> bool:
    return all(r.status != UNDECIDED for r in results if CHECK_SCOPES[r.check] == Scope.NODE)


def verdict(spec: Experiment, records: list[Record]) -> Verdict:
    """The experiment's outcome, then what its rollback left behind: a run that left faults or
    resources in place is never `passed` (an error naming them), whatever its hypotheses said."""
    outcome = _outcome(spec, records)
    left = left_behind(records)
    if not left:
        return outcome
    what = f"rollback left {len(left)} in place ({'; '.join(left[:3])}{'; ...' if len(left) > 3 else ''}); `spotchaos cleanup RUN_DIR` removes them"
    if outcome.status == Outcome.PASSED:
        return Verdict(Outcome.ERROR, what, outcome.hypotheses)
    return Verdict(outcome.status, f"{outcome.reason}; {what}", outcome.hypotheses)


def left_behind(records: list[Record]) -> list[str]:
    """What failed to be undone and was not undone since, one line each."""
    latest: dict[int, UndoneRecord] = {r.intent: r for r in failed_undos(records)}
    actions = {i.id: i.action for i in intents(records)}
    return [f"{actions.get(n, f'intent {n}')}: {r.detail or ''}" for n, r in latest.items()]


def _outcome(spec: Experiment, records: list[Record]) -> Verdict:
    now = max((r.t for r in records), default=0.0)
    results = evaluate(spec, records, now, final=True)
    errors = [r for r in of(records, ErrorRecord) if r.fatal]
    aborts = of(records, AbortRecord)
    if errors:
        return Verdict(Outcome.ERROR, f"{errors[0].where or 'run'}: {errors[0].message or ''}", results)
    if aborts:
        return Verdict(Outcome.ABORTED, aborts[0].reason or "aborted", results)
    if of(records, DryRunRecord):
        return Verdict(Outcome.PASSED, "dry run: planned only, nothing injected", [])
    if not of(records, InjectedRecord):
        return Verdict(Outcome.ERROR, "nothing was injected", results)
    results = [_unless_starved(spec, h, result, records) for h, result in zip(spec.hypotheses, results, strict=True)]
    breached = [h for h in results if h.status not in (PASS, INCONCLUSIVE)]
    if breached:
        names = ", ".join(f"{h.name} ({h.measured}, bound {h.bound})" for h in breached)
        return Verdict(Outcome.FAILED, f"breached: {names}", results)
    starved = [h for h in results if h.status == INCONCLUSIVE]
    if starved:
        return Verdict(Outcome.INCONCLUSIVE, "inconclusive: " + "; ".join(f"{h.name} breached only while starved ({h.detail})" for h in starved), results)
    return Verdict(Outcome.PASSED, "every hypothesis held", results)


# --------------------------------------------------------------------------- starved, not failed

def _unless_starved(spec: Experiment, h: Any, result: HypothesisResult, records: list[Record]) -> HypothesisResult:
    """A breach measured only while the run was starved is inconclusive, naming what was starved;
    one that still shows on the healthy moments stays failed (chaos/evidence/starvation.py)."""
    if result.status not in (FAIL, UNDECIDED):
        return result
    health = health_of(records)
    if not health:
        return result  # a journal from before health was measured, or EKS without it: as judged
    cause = (_traffic_starved(spec, h, result, records, health) if h.scope == Scope.TRAFFIC
             else _nodes_starved(h, result, records, health) if h.scope == Scope.NODE else None)
    if cause is None:
        return result
    return replace(result, status=INCONCLUSIVE, detail=f"{cause}; as measured: {result.measured}" + (f" ({result.detail})" if result.detail else ""))


def _traffic_starved(spec: Experiment, h: Any, result: HypothesisResult, records: list[Record], health: list[Health]) -> str | None:
    traffic = of(records, TrafficRecord)
    latency_bound_ms = float(h.max) * 1000 if isinstance(h, P99Latency) else spec.traffic.timeout * 1000
    starved = starved_seconds(traffic, health, SHARE_OF_BOUND * latency_bound_ms, spec.traffic.timeout, max(second.speed for second in health))
    if not starved:
        return None
    healthy = [r for r in records if not (isinstance(r, TrafficRecord) and r.second in starved)]
    if not of(healthy, TrafficRecord):
        return next(iter(starved.values()))
    again = h.judge(result.name, Evidence(healthy, max((r.t for r in records), default=0.0), True))
    if again.status != PASS:
        return None  # breached on the healthy seconds too: a failure measured on a healthy machine
    errors = {r.second: r.requests - r.ok for r in traffic}  # the latest record of each second
    worst = max(starved, key=lambda s: errors.get(s, 0))
    return f"{starved[worst]} ({len(starved)} second{'s' if len(starved) > 1 else ''} starved; without them it holds: {again.measured})"


def _node_window(h: Any, m: NodeMilestones, value: float | None) -> tuple[float, float, float | None]:
    """(start, end, overshoot) of a node's figure for `h`: the run seconds it was measured over, and
    by how many cluster seconds it missed its bound (None: it never happened, no lag explains that)."""
    bound = getattr(h, "max", None)
    if bound is not None:  # the milestone was stamped `value` after the notice: the lag that matters is up to then
        return m.notice, m.notice + max(float(bound), value or 0.0), None if value is None else value - float(bound)
    end = m.reclaimed if m.reclaimed is not None else m.expected_reclaim
    end = end if end is not None else m.notice + 120.0
    margin = float(getattr(h, "min_margin", 0.0) or 0.0)
    return m.notice, end, None if value is None else margin - value


def _nodes_starved(h: Any, result: HypothesisResult, records: list[Record], health: list[Health]) -> str | None:
    failing = {(r.node, r.instance): r.value for r in result.nodes if r.status in (FAIL, UNDECIDED)}
    if not failing:
        return None
    causes = []
    for m in node_milestones(records):
        if (m.node, m.instance) not in failing:
            continue
        start, end, overshoot = _node_window(h, m, failing[(m.node, m.instance)])
        starved = node_window_starved(health, start, end, overshoot) if overshoot is not None else None
        if starved is None:
            return None  # this node's breach was measured while the run was healthy, or is too large for any lag
        causes.append(f"{m.node or m.instance}: {starved}")
    return "; ".join(causes[:3]) if causes else None
