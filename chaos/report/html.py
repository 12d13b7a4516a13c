"""One self-contained HTML file: verdict, hypotheses, the pictures (embedded), milestones.  It fits
a laptop screen's width (1,366 px) without scrolling sideways: pictures scale down, tables wrap
(tests/integration/test_report_in_browser.py measures it in a real browser)."""

from __future__ import annotations

import base64
from html import escape

from chaos.evidence.milestones import MILESTONES
from chaos.evidence.starvation import health_summary
from chaos.report.data import ReportData
from chaos.report.markdown import milestone_rows, replacement_line, steady_state_line
from chaos.report.plot import gantt_png, timeline_png

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0;max-width:100%}
td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;overflow-wrap:anywhere}th{background:#f4f4f4}img{max-width:100%;height:auto}
table.nodes{table-layout:fixed;width:100%}table.nodes td,table.nodes th{font-size:12px;padding:3px 4px}.pass{color:#137333}.fail,.undecided{color:#b3261e;font-weight:bold}
.verdict{font-size:1.3em;padding:.5em;border-radius:4px}.passed{background:#e6f4ea}.failed,.error{background:#fce8e6}.aborted{background:#fef7e0}"""


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None, css: str = "") -> str:
    out = [f"<table{f' class={css!r}' if css else ''}><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    return "".join(out) + "</table>"


def _gantt(png: bytes | None) -> str:
    if png is None:
        return ""
    return f"<img alt='per-node milestones with the two-minute deadline' src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}'>"


def render(data: ReportData, timeline: bytes | None = None, gantt: bytes | None = None) -> str:
    """`timeline`, `gantt`: the pictures when the caller made them already (they are made here otherwise)."""
    v, tr = data.verdict, data.traffic
    png = base64.b64encode(timeline if timeline is not None else timeline_png(data)).decode("ascii")
    gantt = gantt if gantt is not None else gantt_png(data)
    pct = tr.percentiles_ms()
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(data.spec.name)}: {v.status}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(data.spec.name)}</h1>",
        f"<div class='verdict {v.status}'>{escape(v.status.upper())} (exit {v.exit_code}): {escape(v.reason)}</div>",
    ]
    if not data.complete:
        parts.append("<p><b>The run ended without writing its verdict; this report is rebuilt from its journal.</b></p>")
    parts += [
        f"<p>Times in cluster seconds since the run started (cluster time ran {data.speed:g}x real time); latency in real milliseconds.</p>",
        "<h2>Hypotheses</h2>",
        _table(["status", "hypothesis", "bound", "measured", "detail"], [[h.status, h.name, h.bound, h.measured, h.detail] for h in v.hypotheses],
               [h.status for h in v.hypotheses]),
        "<h2>Timeline</h2>",
        f"<img alt='error rate, p99, requests by outcome, replicas, targets per state and Ready nodes over the run, with node milestones' "
        f"src='data:image/png;base64,{png}'>",
        f"<p>{tr.requests} requests, {tr.errors} errors ({tr.error_rate:.3%}); p50 {pct['p50']} ms, p99 {pct['p99']} ms, max {pct['max']} ms.</p>",
        "<h2>Interrupted nodes</h2><p>Seconds after each node's notice (notice: run time).</p>",
        _gantt(gantt),
        _table(["node", "instance", "injection", "via", *[m.replace("_", " ") for m in MILESTONES]], milestone_rows(data), css="nodes"),
        "".join(f"<p>{escape(str(m.node))}: {escape(replacement_line(m))}.</p>" for m in data.nodes if m.replacement_instance),
        "<h2>Phases</h2>", _table(["t", "phase"], [[f"{t:.1f}", p] for t, p in data.phases]),
    ]
    if data.steady_state:
        parts.append("<h2>Steady state</h2><ul>" + "".join(f"<li>{escape(steady_state_line(r))}</li>" for r in data.steady_state) + "</ul>")
    summary = health_summary(data.health)
    if summary is not None:
        parts.append(f"<h2>Health of the run</h2><p>{escape(summary.line(data.speed))}</p>")
    if data.rollback:
        parts.append("<h2>Rollback</h2>" + _table(["step", "ok", "detail"], [[r.step, r.ok, r.detail] for r in data.rollback]))
    parts.append("</body></html>")
    return "\n".join(parts)
