"""The go/no-go checks of a game day, judged from what the run recorded before injecting (the
plan, the guardrails, the safety lever, the steady state) and from two looks at the cluster taken
just then (doctor's findings, FIS experiments of ours still running).  Each check carries its
evidence, as the driver reads it on the screen and the journal keeps it.  Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chaos.journal import Record, of
from chaos.journal.records import (
    GuardrailsRecord,
    PlanRecord,
    R,
    SafetyLeverRecord,
    SteadyStateRecord,
)
from chaos.spec import Experiment
from cluster.doctor import Finding
from cluster.doctor.findings import Level


@dataclass(frozen=True)
class GoNoGoCheck:
    name: str
    ok: bool
    evidence: str


def _last(records: Sequence[Record], kind: type[R]) -> R | None:
    return next(reversed(of(records, kind)), None)


def from_records(spec: Experiment, records: Sequence[Record]) -> list[GoNoGoCheck]:
    checks = [GoNoGoCheck("experiment valid", True, f"{len(spec.injections)} injection(s), {len(spec.hypotheses)} hypothesis(es)")]
    plan = _last(records, PlanRecord)
    if plan is None:
        checks.append(GoNoGoCheck("plan", False, "no plan was recorded"))
    else:
        taken = [f"{c.get('node') or c.get('instance')} ({c.get('az') or '?'})" for p in plan.injections or [] for c in p.get("first_wave") or []]
        checks.append(GoNoGoCheck("plan", True, f"takes {plan.interrupted_at_most} of {plan.nodes} nodes "
                                  f"({plan.share or 0:.0%}, limit {spec.guardrails.max_interrupted_share:.0%})"
                                  + (f": {', '.join(taken)}" if taken else "")))
    guard = _last(records, GuardrailsRecord)
    if guard is not None:
        where = ", ".join(f"{k} {v}" for k, v in (("account", guard.account), ("context", guard.context)) if v) or f"target {guard.target}"
        checks.append(GoNoGoCheck("account and context allowed", True, where))
    lever = _last(records, SafetyLeverRecord)
    if lever is not None:
        ok = lever.status not in ("engaged", "engaging")
        checks.append(GoNoGoCheck("FIS safety lever released", ok, lever.status + (f" ({lever.reason})" if lever.reason else "")))
    steady = next((r for r in reversed(of(records, SteadyStateRecord)) if r.when == "before"), None)
    if steady is None:
        checks.append(GoNoGoCheck("steady state held", False, "not measured"))
    else:
        seen = (f"error rate {steady.error_rate or 0:.3%} over {steady.requests or 0} requests in the {spec.traffic.warmup:g}s warm-up, "
                f"serving replicas Ready {steady.ready}/{steady.desired}")
        checks.append(GoNoGoCheck("steady state held", steady.ok, seen + ("" if steady.ok else ": " + "; ".join(steady.problems or []))))
    return checks


def doctor_check(findings: Iterable[Finding]) -> GoNoGoCheck:
    errors = [f for f in findings if f.level == Level.ERROR]
    if not errors:
        return GoNoGoCheck("doctor: cluster Spot-ready", True, "no error-level finding")
    return GoNoGoCheck("doctor: cluster Spot-ready", False, "; ".join(f"{f.subject}: {f.problem}" for f in errors[:3])
                       + (f"; and {len(errors) - 3} more" if len(errors) > 3 else ""))


def fis_check(running: Sequence[tuple[str, str]]) -> GoNoGoCheck:
    """`running`: (experiment id, run id) of FIS experiments of spotchaos not yet ended."""
    if not running:
        return GoNoGoCheck("no FIS experiment of ours running", True, "none running")
    return GoNoGoCheck("no FIS experiment of ours running", False, ", ".join(f"{eid} (run {run})" for eid, run in running)
                       + "; stop them first (spotchaos cleanup --run-id RUN)")
