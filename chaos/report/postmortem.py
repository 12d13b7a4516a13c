"""A postmortem draft of a run, in Markdown: what a game day's scribe would otherwise write from
memory.  Summary, the timeline rebuilt from the journal with the people's notes in place, each
hypothesis with its number, what was rolled back, and the sections only people can fill (impact,
what went well, what went wrong, action items) left empty for them.

Pure: a function of the report data (itself a function of the journal)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.evidence.milestones import NodeMilestones
from chaos.journal import Record, of
from chaos.journal.records import (
    AbortRecord,
    DecisionRecord,
    ErrorRecord,
    ExperimentRecord,
    GoNoGoRecord,
    InjectedRecord,
    NoteRecord,
    OverrideRecord,
    PhaseRecord,
    SteadyStateRecord,
)
from chaos.report.data import ReportData
from chaos.report.markdown import md_text

# the milestones of an interrupted node that belong on a timeline, and how to say them
NODE_STEPS = (
    ("cordon", "cordoned"),
    ("first_eviction", "first pod evicted"),
    ("drained", "drained (no serving pod left)"),
    ("targets_out", "out of the load balancer (no healthy target left)"),
    ("reclaimed", "instance reclaimed"),
    ("replacement_ready", "replacement node Ready"),
    ("replicas_restored", "serving replicas back to desired"),
)
SHOWN_PHASES = {"connect", "provision", "steady_state", "inject", "tail", "rollback"}


@dataclass(frozen=True)
class Moment:
    t: float
    what: str
    wall: str | None = None


def _wall(r: Record) -> str | None:
    return r.wall[11:19] if r.wall is not None and len(r.wall) >= 19 else None


def _injected(r: InjectedRecord) -> str:
    if not r.instance:
        return f"{r.injection}: {r.action} on {r.group} ({', '.join(a for a in r.azs or [] if a)}) via {r.via}"
    text = f"{r.injection}: {r.action} of {r.node or r.instance} ({r.instance}, {r.az or '?'}) via {r.via}"
    return text + (f"; reclaim due at t={r.reclaim_t:.0f}s" if r.reclaim_t is not None else "")


def _steady(r: SteadyStateRecord) -> str:
    held = "held" if r.ok else "did NOT hold: " + "; ".join(r.problems or [])
    return f"steady state {'before injecting' if r.when == 'before' else 'after'}: {held}"


# what each kind of record says on the timeline (a phase only when it is one of SHOWN_PHASES)
_MOMENTS: dict[type[Record], Callable[[Any], str | None]] = {
    PhaseRecord: lambda r: f"phase: {r.phase}" if r.phase in SHOWN_PHASES else None,
    GoNoGoRecord: lambda r: f"go/no-go {'passed' if r.ok else 'FAILED'}: {r.check} ({r.evidence})",
    OverrideRecord: lambda r: f"**override** of {r.check} by {md_text(r.author or 'the driver')}: {md_text(r.reason)}",
    DecisionRecord: lambda r: f"**{'go' if r.go else 'no go'}** ({r.gate}) by {md_text(r.author or 'the driver')}",
    NoteRecord: lambda r: f"**note** ({md_text(r.author)}{', ' + md_text(r.role) if r.role else ''}): {md_text(r.text)}",
    SteadyStateRecord: _steady,
    InjectedRecord: _injected,
    AbortRecord: lambda r: f"**aborted**: {md_text(str(r.reason))}",
    ErrorRecord: lambda r: f"error in {r.where}: {r.message}",
}


def _what(r: Record) -> str | None:
    say = _MOMENTS.get(type(r))
    return None if say is None else say(r)


def moment_of(r: Record) -> Moment | None:
    text = _what(r)
    return None if text is None else Moment(r.t, text, _wall(r))


def _node_moments(m: NodeMilestones) -> list[Moment]:
    out = []
    for name, said in NODE_STEPS:
        at = getattr(m, name)
        if at is not None:
            out.append(Moment(at, f"{m.node or m.instance}: {said} (+{at - m.notice:.0f}s after its notice)"))
    return out


def timeline(data: ReportData) -> list[Moment]:
    moments = [m for m in (moment_of(r) for r in data.records) if m is not None]
    last = max((r.t for r in data.records), default=0.0)
    moments.append(Moment(float(last), f"verdict: {data.verdict.status}"))
    for node in data.nodes:
        moments += _node_moments(node)
    return sorted(moments, key=lambda m: m.t)


def draft(data: ReportData, pictures: Sequence[str] = ()) -> str:
    """`pictures`: file names of the report's pictures beside the draft (timeline.png, gantt.png)."""
    v, spec = data.verdict, data.spec
    head = data.records[0] if data.records else None
    run_id = head.run_id if isinstance(head, ExperimentRecord) else None
    notes = of(data.records, NoteRecord)
    tr = data.traffic
    pct = tr.percentiles_ms()
    out = [f"# Postmortem (draft): {md_text(spec.name)}", ""]
    out += ["## Summary", ""]
    out.append(f"- Run {run_id or '?'}, started {(head.wall if head else None) or '?'}; cluster time ran {data.speed:g}x real time.")
    out.append(f"- Verdict: **{v.status}** (exit {v.exit_code}): {md_text(v.reason)}.")
    out.append(f"- Nodes interrupted: {len(data.nodes)}. Requests: {tr.requests}, errors {tr.errors} ({tr.error_rate:.3%}), "
               f"p99 {pct['p99']} ms.")
    if notes:
        out.append(f"- {len(notes)} note(s) taken during the run; they are in the timeline.")
    if spec.description:
        out += ["", md_text(spec.description.strip())]
    if pictures:
        out += [""] + [f"![{name.rsplit('.', 1)[0]}]({name})" for name in pictures]
    out += ["", "## Timeline", "", "Times are cluster seconds since the run started (wall clock UTC where the journal has it).", "",
            "| t (s) | UTC | what happened |", "|---:|---|---|"]
    for m in timeline(data):
        out.append(f"| {m.t:.1f} | {m.wall or ''} | {m.what.replace('|', '/')} |")
    out += ["", "## Hypotheses", "", "| result | hypothesis | bound | measured |", "|---|---|---|---|"]
    for h in v.hypotheses:
        out.append(f"| {h.status} | {md_text(h.name)} | {md_text(h.bound)} | {md_text(h.measured)} |")
    out += ["", "## Rolled back", ""]
    out += [f"- {'ok' if r.ok else 'FAILED'}: {r.step} ({r.detail})" for r in data.rollback] or ["- nothing to roll back"]
    for title in ("Impact", "What went well", "What went wrong", "Action items"):
        out += ["", f"## {title}", "", "_To be written by the team._"]
    return "\n".join(out) + "\n"
