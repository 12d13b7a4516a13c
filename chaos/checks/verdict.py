"""Verdicts: each hypothesis measured against its bound over the journal, pass / fail / undecided,
and the experiment's outcome (passed 0, failed 1, aborted 2, error 3).  Pure functions; `now` is
the run time the journal reaches (for "not cordoned yet, and it is already too late")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

from chaos.checks.milestones import NodeMilestones, node_milestones, ready_share
from chaos.checks.starvation import (
    SHARE_OF_BOUND,
    Health,
    health_of,
    node_window_starved,
    starved_seconds,
)
from chaos.checks.traffic_stats import TrafficStats, traffic_stats
from chaos.journal import Record, of
from chaos.journal.records import (
    AbortRecord,
    DryRunRecord,
    ErrorRecord,
    InjectedRecord,
    ShardLostRecord,
    ShardsRecord,
    TrafficRecord,
    UndoneRecord,
)
from chaos.spec import (
    CHECK_SCOPES,
    CordonedWithin,
    DeregisteredBeforeReclaim,
    DrainedBeforeReclaim,
    DrainingBeforeReclaim,
    ErrorBudget,
    ErrorRate,
    ErrorWindow,
    Experiment,
    LoadShardsHeld,
    MinReadyReplicas,
    OneTerminationHandler,
    P99Latency,
    ReplacementReadyBeforeReclaim,
    ReplacementReadyWithin,
    ReplicasRestoredWithin,
    Scope,
    TaintedWithin,
    TargetsUnhealthyWithin,
    WindowErrorRate,
    hypothesis_name,
)
from chaos.undo.log import failed_undos, intents


class Status(StrEnum):
    """A hypothesis's (and a node's) status; equal to its string in JSON and comparisons."""

    PASS = "pass"
    FAIL = "fail"
    UNDECIDED = "undecided"
    NOT_APPLICABLE = "n/a"
    INCONCLUSIVE = "inconclusive"  # breached only where the run was starved (chaos/checks/starvation.py)


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


PASS, FAIL, UNDECIDED, NOT_APPLICABLE, INCONCLUSIVE = Status.PASS, Status.FAIL, Status.UNDECIDED, Status.NOT_APPLICABLE, Status.INCONCLUSIVE
# 4 is `run --fail-on-regression`'s "passed, but regressed"
EXIT_CODES = {Outcome.PASSED: 0, Outcome.FAILED: 1, Outcome.ABORTED: 2, Outcome.ERROR: 3, Outcome.INCONCLUSIVE: 5}


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


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}s"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.3g}%"


# --------------------------------------------------------------------------- per node

UNWARNED = "lost without notice"


def _within(nodes: list[NodeMilestones], milestone: str, bound: float, now: float, final: bool, needs_notice: bool = True) -> list[NodeResult]:
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


def _before_reclaim(nodes: list[NodeMilestones], milestone: str, margin: float, now: float, final: bool, what: str) -> list[NodeResult]:
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


def _aggregate(name: str, check: str, bound: str, results: list[NodeResult], worst: str) -> HypothesisResult:
    counted = [r for r in results if r.status != NOT_APPLICABLE]
    if not results:
        return HypothesisResult(name, check, bound, "no node interrupted", None, UNDECIDED, "nothing was interrupted", results)
    if not counted:
        return HypothesisResult(name, check, bound, "n/a", None, PASS, results[0].note, results)
    if any(r.status == FAIL for r in counted):
        status = FAIL
    elif any(r.status == UNDECIDED for r in counted):
        status = UNDECIDED
    else:
        status = PASS
    bad = [r for r in counted if r.status != PASS]
    # a failed hypothesis shows what failed it: the worst of a passing node must never stand as the
    # measure of a breach (it would read "worst 191 s, bound <= 300 s" and contradict itself)
    shown = [r for r in counted if r.status == FAIL] if status == FAIL else counted
    values = [r.value for r in shown if r.value is not None]
    unmeasured = status == FAIL and len(values) < len(shown)  # a node that failed with no figure ("no cordon within 10s") is the measure
    value = None if unmeasured or not values else max(values) if worst == "max" else min(values)
    detail = "; ".join(f"{r.node or r.instance}: {r.note or _s(r.value)}" for r in bad[:5])
    noted = [r for r in shown if r.value is None and r.note] or bad
    measured = f"{'worst' if len(counted) > 1 else ''} {_s(value)}".strip() if value is not None else (noted[0].note if noted else "-")
    return HypothesisResult(name, check, bound, measured, value, status, detail, results)


# --------------------------------------------------------------------------- evidence

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


Judge = Callable[[Any, str, Evidence], HypothesisResult]


# --------------------------------------------------------------------------- the judges, one per check

def _within_judge(milestone: str, spot_only: bool = False) -> Judge:
    def judge(h: Any, name: str, ev: Evidence) -> HypothesisResult:
        scope = [m for m in ev.nodes if not spot_only or m.reclaims]
        return _aggregate(name, h.check, f"<= {h.max:g}s after the notice", _within(scope, milestone, h.max, ev.now, ev.final, h.needs_notice), "max")
    return judge


def _targets_unhealthy(h: TargetsUnhealthyWithin, name: str, ev: Evidence) -> HypothesisResult:
    """How long the load balancer kept a lost or interrupted node's healthy targets in service."""
    results: list[NodeResult] = []
    for m in ev.nodes:
        if not m.targets_at_notice and m.target_draining is None:
            results.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, "the node had no load balancer targets"))
        elif not m.healthy_at_notice:
            results.append(NodeResult(m.node, m.instance, None, FAIL, f"none of its {len(m.targets_at_notice)} targets was healthy at the notice: the health "
                                      "check never passes, so the load balancer fails open and cannot take this node's targets out by health"))
        else:
            results.extend(_within([m], "targets_out", h.max, ev.now, ev.final, needs_notice=False))
    return _aggregate(name, h.check, f"<= {h.max:g}s after the notice", results, "max")


def _before_reclaim_judge(milestone: str, what: str) -> Judge:
    def judge(h: Any, name: str, ev: Evidence) -> HypothesisResult:
        return _aggregate(name, h.check, f">= {h.min_margin:g}s before the reclaim", _before_reclaim(ev.nodes, milestone, h.min_margin, ev.now, ev.final, what), "min")
    return judge


def _replacement_before_reclaim(h: ReplacementReadyBeforeReclaim, name: str, ev: Evidence) -> HypothesisResult:
    """Capacity back before EC2 takes the node: a replacement Ready before the notice's deadline."""
    results: list[NodeResult] = []
    for m in ev.nodes:
        deadline = m.expected_reclaim if m.expected_reclaim is not None else m.reclaimed
        if not m.reclaims or not m.warned:
            results.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, "no reclaim for this injection" if not m.reclaims else UNWARNED))
        elif deadline is None:
            results.append(NodeResult(m.node, m.instance, None, FAIL if ev.final else UNDECIDED, "no reclaim time known"))
        elif m.replacement_ready is not None:
            gap = round(deadline - m.replacement_ready, 3)
            results.append(NodeResult(m.node, m.instance, gap, PASS if gap >= h.min_margin else FAIL,
                                      "" if gap >= h.min_margin else f"replacement Ready {_s(-gap)} after the reclaim" if gap < 0 else ""))
        elif ev.now >= deadline - h.min_margin or ev.final:
            results.append(NodeResult(m.node, m.instance, None, FAIL, "no replacement Ready by the reclaim"))
        else:
            results.append(NodeResult(m.node, m.instance, None, UNDECIDED, "no replacement Ready yet"))
    return _aggregate(name, h.check, f">= {h.min_margin:g}s before the reclaim", results, "min")


def _one_handler(h: OneTerminationHandler, name: str, ev: Evidence) -> HypothesisResult:
    """One component handles each notice: two (NTH and Karpenter, say) act on the same event twice."""
    results: list[NodeResult] = []
    for m in ev.nodes:
        if not m.warned:
            results.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, UNWARNED))
        elif len(m.handlers) > 1:
            results.append(NodeResult(m.node, m.instance, float(len(m.handlers)), FAIL, f"handled by {' and '.join(m.handlers)}: each tainted and drained it"))
        elif m.handlers or ev.final:
            results.append(NodeResult(m.node, m.instance, float(len(m.handlers)), PASS, m.handlers[0] if m.handlers else "no handler tainted it"))
        else:
            results.append(NodeResult(m.node, m.instance, 0.0, UNDECIDED, "no handler yet"))
    result = _aggregate(name, h.check, "one handler per notice", results, "max")
    result.measured = "; ".join(sorted({", ".join(m.handlers) or "none" for m in ev.nodes if m.warned})) or result.measured
    return result


def _min_ready(h: MinReadyReplicas, name: str, ev: Evidence) -> HypothesisResult:
    share, at = ready_share(ev.records, ev.first_injection) if ev.first_injection is not None else (None, None)
    if share is None:
        return HypothesisResult(name, h.check, f">= {_pct(h.min)}", "-", None, FAIL if ev.final else UNDECIDED, "the serving Deployment was not observed")
    return HypothesisResult(name, h.check, f">= {_pct(h.min)} of desired", _pct(share), share, ev.status_of(share >= h.min), f"lowest at t={at:.0f}s")


def _traffic_judge(measure: Callable[[Any, TrafficStats], tuple[str, str, float | None, bool, str]]) -> Judge:
    """A traffic check: `measure` gives (bound, measured, value, holds, detail) over the requests."""
    def judge(h: Any, name: str, ev: Evidence) -> HypothesisResult:
        stats = ev.traffic
        if stats.requests == 0:
            return HypothesisResult(name, h.check, str(getattr(h, "max", "")), "no requests", None, FAIL if ev.final else UNDECIDED, "no traffic was measured")
        bound, measured, value, holds, detail = measure(h, stats)
        return HypothesisResult(name, h.check, bound, measured, value, ev.status_of(holds), detail)
    return judge


def _error_rate(h: ErrorRate, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
    rate = stats.error_rate
    return f"<= {_pct(h.max)}", f"{_pct(rate)} ({stats.errors}/{stats.requests})", rate, rate <= h.max, ""


def _window_error_rate(h: WindowErrorRate, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
    rate, at = stats.worst_window(h.window)
    return f"<= {_pct(h.max)} over {h.window:g}s", _pct(rate), rate, rate <= h.max, (f"worst window from t={at:.0f}s" if at is not None else "")


def _error_window(h: ErrorWindow, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
    length, at = stats.longest_run_over(h.threshold)
    return (f"<= {h.max:g}s over {_pct(h.threshold)} errors", f"{length:.0f}s", length, length <= h.max,
            f"from t={at:.0f}s" if at is not None else "no second over the threshold")


def _p99(h: P99Latency, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
    p99 = stats.percentiles_ms()["p99"]
    limit = h.max * 1000
    return f"<= {limit:g} ms", "-" if p99 is None else f"{p99:.1f} ms", p99, p99 is not None and p99 <= limit, ""


def _error_budget(h: ErrorBudget, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
    budget = 1 - h.slo
    burn = stats.error_rate / budget
    return f"<= {h.max_burn:g} x budget ({_pct(budget)})", f"{burn:.2f} x budget", burn, burn <= h.max_burn, f"{stats.errors} failed of {stats.requests}; SLO {h.slo}"


JUDGES: dict[type, Judge] = {
    CordonedWithin: _within_judge("cordon"),
    TaintedWithin: _within_judge("taint"),
    ReplacementReadyWithin: _within_judge("replacement_ready", spot_only=True),
    ReplicasRestoredWithin: _within_judge("replicas_restored"),
    DrainedBeforeReclaim: _before_reclaim_judge("drained", "drained"),
    DrainingBeforeReclaim: _before_reclaim_judge("target_draining", "draining"),
    DeregisteredBeforeReclaim: _before_reclaim_judge("targets_gone", "deregistered"),
    TargetsUnhealthyWithin: _targets_unhealthy,
    MinReadyReplicas: _min_ready,
    ErrorRate: _traffic_judge(_error_rate),
    WindowErrorRate: _traffic_judge(_window_error_rate),
    ErrorWindow: _traffic_judge(_error_window),
    P99Latency: _traffic_judge(_p99),
    ErrorBudget: _traffic_judge(_error_budget),
    LoadShardsHeld: lambda h, name, ev: _shards_held(name, ev),
    ReplacementReadyBeforeReclaim: _replacement_before_reclaim,
    OneTerminationHandler: _one_handler,
}


def _shards_held(name: str, ev: Evidence) -> HypothesisResult:
    """Every load shard sent its share to the end; a lost one is named, with what it took away
    (its share of the load from its last reported second), never counted as service errors."""
    started = next(iter(of(ev.records, ShardsRecord)), None)
    lost = of(ev.records, ShardLostRecord)
    shards = started.shards if started else 0
    if lost:
        detail = "; ".join(f"shard {r.index}{' on ' + str(r.node) if r.node else ''} lost at t={r.t:g}s ({r.reason}): "
                           f"{r.share:.0%} of the load stopped after second {r.last_second}" for r in lost)
        return HypothesisResult(name, "load-shards-held", "every shard to its end", f"{len(lost)} of {shards} lost", float(len(lost)), FAIL,
                                detail + "; the load dropped, the service's numbers count only what was sent")
    if not ev.final:
        return HypothesisResult(name, "load-shards-held", "every shard to its end", "so far none lost", 0.0, UNDECIDED)
    if started is None:
        return HypothesisResult(name, "load-shards-held", "every shard to its end", "no shards started", None, FAIL, "the load never ran on the cluster")
    return HypothesisResult(name, "load-shards-held", "every shard to its end", f"{shards} of {shards} held", 0.0, PASS)


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
        result = JUDGES[type(h)](h, hypothesis_name(h), ev)
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
    one that still shows on the healthy moments stays failed (chaos/checks/starvation.py)."""
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
    lifetime = (spec.traffic.timeout + 1.0) * max(second.speed for second in health)
    starved = starved_seconds(traffic, health, SHARE_OF_BOUND * latency_bound_ms, lifetime)
    if not starved:
        return None
    healthy = [r for r in records if not (isinstance(r, TrafficRecord) and r.second in starved)]
    if not of(healthy, TrafficRecord):
        return next(iter(starved.values()))
    again = JUDGES[type(h)](h, result.name, Evidence(healthy, max((r.t for r in records), default=0.0), True))
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
