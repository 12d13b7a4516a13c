"""The report for people reading a CI log or a pull request."""

from __future__ import annotations

from chaos.evidence.milestones import MILESTONES, NodeMilestones
from chaos.evidence.starvation import health_summary
from chaos.journal import of, unknown_kinds
from chaos.journal.records import (
    ApiRetriesRecord,
    ErrorRecord,
    ProvisionedRecord,
    SteadyStateRecord,
)
from chaos.report.data import ReportData

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|#"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def md_text(text: str) -> str:
    """User text (a description, a name) as Markdown that shows it as written: HTML cannot get
    through (`<script>` renders as text on viewers that render HTML in Markdown), nor can the
    markup that would restyle it or break a table row."""
    return text.translate(_MD_SPECIAL)


ICON = {"pass": "PASS", "fail": "FAIL", "undecided": "UNDECIDED", "n/a": "n/a", "inconclusive": "INCONCLUSIVE"}


def _t(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def milestone_rows(data: ReportData) -> list[list[str]]:
    rows = []
    for m in data.nodes:
        rows.append([m.node or "-", m.instance, m.injection, m.via] + [_t(m.since_notice(k)) if k != "notice" else _t(m.notice) for k in MILESTONES])
    return rows


def replacement_line(m: NodeMilestones) -> str:
    line = f"replaced by {m.replacement_instance}" + (f" (NodeClaim {m.replacement_nodeclaim})" if m.replacement_nodeclaim else "")
    if m.replacement_group and m.replacement_group != m.group:
        line += f" from another group, {m.replacement_group} (it was in {m.group or 'an unknown group'})"
    elif m.replacement_group:
        line += f" from its own group, {m.replacement_group}"
    return line


def steady_state_line(r: SteadyStateRecord) -> str:
    held = "held" if r.ok else "did not hold: " + "; ".join(r.problems or [])
    seen = f"serving replicas Ready {r.ready}/{r.desired}, {r.requests or 0} requests, error rate {r.error_rate or 0:.3%}"
    return f"{'before injecting' if r.when == 'before' else 'after traffic stopped'}: {held} ({seen})"


def render(data: ReportData) -> str:
    out = _head(data) + _hypotheses(data) + _nodes(data) + _traffic(data)
    if data.steady_state:
        out += ["", "## Steady state", ""] + [f"- {steady_state_line(r)}" for r in data.steady_state]
    summary = health_summary(data.health)
    if summary is not None:
        out += ["", "## Health of the run", "", summary.line(data.speed)]
    twin = next((r.twin for r in of(data.records, ProvisionedRecord) if r.twin), None)
    if twin:
        said = ("Reused from the simulator it was built in (the same cluster.from inputs)." if twin[0].startswith("reused:")
                else "Built from the experiment's cluster.from: what it made and what it could not model.")
        out += ["", "## The twin", "", said, ""]
        out += [f"- {md_text(line)}" for line in twin]
    out += ["", "## Phases", ""]
    out += [f"- t={t:.1f}s {phase}" for t, phase in data.phases]
    out += _left_out(data) + _after(data)
    return "\n".join(out) + "\n"


def _head(data: ReportData) -> list[str]:
    v, spec = data.verdict, data.spec
    out = [f"# {md_text(spec.name)}: {v.status.upper()}", ""]
    if spec.description:
        out += [md_text(spec.description.strip()), ""]
    out += [f"**Verdict:** {v.status} (exit code {v.exit_code}) — {md_text(v.reason)}", ""]
    if not data.complete:
        out += ["> The run ended without writing its verdict (it was killed); this report is rebuilt from what its journal recorded.", ""]
    out += [f"Cluster time ran {data.speed:g}x real time; every time below is in cluster seconds since the run started, latencies in real milliseconds.", ""]
    return out


def _hypotheses(data: ReportData) -> list[str]:
    out = ["## Hypotheses", "", "| | hypothesis | bound | measured | detail |", "|---|---|---|---|---|"]
    for h in data.verdict.hypotheses:
        out.append(f"| {ICON.get(h.status, h.status)} | {md_text(h.name)} | {md_text(h.bound)} | {md_text(h.measured)} | {md_text(h.detail or '')} |")
    return out


def _nodes(data: ReportData) -> list[str]:
    out = ["", "## Interrupted nodes", ""]
    if data.nodes:
        out += ["Seconds after each node's notice (notice: run time).", ""]
        out.append("| node | instance | injection | via | " + " | ".join(MILESTONES) + " |")
        out.append("|" + "---|" * (4 + len(MILESTONES)))
        out += ["| " + " | ".join(row) + " |" for row in milestone_rows(data)]
        out += [f"\n{m.node}: {replacement_line(m)}." for m in data.nodes if m.replacement_instance]
    else:
        out.append("No node was interrupted.")
    for r in data.injections:
        if not r.instance:
            out.append(f"- {r.injection}: {r.action} on {r.group} ({', '.join(a or '?' for a in r.azs or [])}) via {r.via} at t={r.t:.1f}s")
    return out


def _traffic(data: ReportData) -> list[str]:
    tr = data.traffic
    out = ["", "## Traffic", ""]
    pct = tr.percentiles_ms()
    out.append(f"{tr.requests} requests, {tr.errors} errors ({tr.error_rate:.3%}); latency p50 {pct['p50']} ms, p99 {pct['p99']} ms, max {pct['max']} ms.")
    classes = ", ".join(f"{k} {n}" for k, n in tr.by_class().items() if n)
    if classes:
        out.append(f"Errors by class: {classes}.")
    worst, at = tr.worst_window(10 * data.speed if data.speed > 1 else 10)
    if at is not None:
        out.append(f"Worst window error rate {worst:.2%} from t={at:.0f}s.")
    return out


def _left_out(data: ReportData) -> list[str]:
    out = []
    unknown = unknown_kinds(data.records)
    if unknown:
        out.append("\nRecords of kinds this version does not know (a newer spotchaos wrote them), left out: "
                   + ", ".join(f"{k} ({n})" for k, n in sorted(unknown.items())) + ".")
    if data.left_out:
        shown = "; ".join(data.left_out[:5]) + (f"; and {len(data.left_out) - 5} more" if len(data.left_out) > 5 else "")
        out.append(f"\nLines of the journal left out of this report ({len(data.left_out)}: records that do not fit their kind, "
                   f"unreadable or repeated lines): {md_text(shown)}.")
    return out


def _after(data: ReportData) -> list[str]:
    """API retries, the rollback and the errors."""
    out = []
    retries = of(data.records, ApiRetriesRecord)
    if retries:
        out.append("\nAPI calls retried (throttling, 5xx, dropped connections): "
                   + ", ".join(f"{api} {n}" for api, n in retries[-1].counts.items()) + ".")
    if data.rollback:
        out += ["", "## Rollback", ""]
        out += [f"- {'ok' if r.ok else 'FAILED'}: {r.step} — {r.detail}" for r in data.rollback]
    errors = of(data.records, ErrorRecord)
    if errors:
        out += ["", "## Errors", ""] + [f"- {r.where}: {r.message}" for r in errors]
    return out
