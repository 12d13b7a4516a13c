"""An experiment's trend as HTML (a chart per hypothesis: its values over the runs against its
bound, failures in red) and as Markdown (pass rates, flaky hypotheses, the runs)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from chaos.history.trend import HypothesisTrend, MilestoneTrend, bound_value
from chaos.report.plot import plt


def tick_label(started: str, every: list[str]) -> str:
    """A run's start on the time axis: its date, or its time of day when every run shares a date."""
    same_day = len({s[:10] for s in every}) == 1
    return started[11:16] if same_day and len(started) >= 16 else started[:10]


def _finish(fig: Any, ax: Any, started: list[str]) -> bytes:
    """Dates under every few runs, then the chart as PNG."""
    ticks = list(range(len(started)))[:: max(1, len(started) // 8)]
    ax.set_xticks(ticks)
    ax.set_xticklabels([tick_label(started[i], started) for i in ticks], fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def chart_png(t: HypothesisTrend) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 2.6))
    xs = list(range(len(t.points)))
    values = [p.value for p in t.points]
    ax.plot([x for x, v in zip(xs, values, strict=True) if v is not None], [v for v in values if v is not None], color="tab:blue", marker="o", markersize=3)
    for x, p in zip(xs, t.points, strict=True):
        if p.status == "fail" and p.value is not None:
            ax.plot([x], [p.value], marker="o", color="tab:red")
    limit = bound_value(t.bound)
    if limit is not None:
        ax.axhline(limit, color="tab:red", linestyle="--", linewidth=1, label=f"bound {t.bound}")
        ax.legend(loc="upper left", fontsize=7)
    ax.set_title(f"{t.name}: pass rate {t.pass_rate:.0%}" + ("  (flaky)" if t.flaky else ""), fontsize=9)
    return _finish(fig, ax, [p.started for p in t.points])


def milestone_png(m: MilestoneTrend) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 2.2))
    xs = list(range(len(m.points)))
    ax.plot(xs, [v for _, v in m.points], color="tab:green", marker="o", markersize=3)
    ax.set_ylabel("s after notice", fontsize=8)
    ax.set_title(f"{m.milestone.replace('_', ' ')} (slowest node)", fontsize=9)
    return _finish(fig, ax, [started for started, _ in m.points])


def html_page(experiment: str, items: list[HypothesisTrend], milestones: list[MilestoneTrend] | None = None) -> str:
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(experiment)}: trend</title>",
             f"<h1>{html.escape(experiment)}: {len(items[0].points) if items else 0} runs</h1>"]
    for t in items:
        png = base64.b64encode(chart_png(t)).decode()
        parts.append(f"<h2>{html.escape(t.name)}</h2><p>bound {html.escape(t.bound)}; pass rate {t.pass_rate:.0%}"
                     + (f"; <b>flaky</b> on {html.escape('; '.join(t.flaky_on))}" if t.flaky else "") + "</p>")
        parts.append(f"<img alt='{html.escape(t.name)}' src='data:image/png;base64,{png}'>")
    if milestones:
        parts.append("<h2>Node milestones</h2>")
        for m in milestones:
            png = base64.b64encode(milestone_png(m)).decode()
            parts.append(f"<img alt='{html.escape(m.milestone)}' src='data:image/png;base64,{png}'>")
    if items:
        parts.append("<h2>Runs</h2><ul>" + "".join(f"<li>{html.escape(p.started)} {html.escape(p.run_id)}: {html.escape(p.run_dir)}</li>"
                                                    for p in items[0].points) + "</ul>")
    return "\n".join(parts) + "\n"


def markdown_page(experiment: str, items: list[HypothesisTrend], milestones: list[MilestoneTrend] | None = None) -> str:
    out = [f"# {experiment}: trend over {len(items[0].points) if items else 0} runs", "", "| hypothesis | bound | pass rate | latest | flaky |", "|---|---|---|---|---|"]
    for t in items:
        out.append(f"| {t.name} | {t.bound} | {t.pass_rate:.0%} | {t.latest} | {'yes: ' + '; '.join(t.flaky_on) if t.flaky else 'no'} |")
    if milestones:
        out += ["", "| node milestone (slowest node, s after notice) | median | latest |", "|---|---|---|"]
        for m in milestones:
            out.append(f"| {m.milestone.replace('_', ' ')} | {m.median:g} | {m.points[-1][1]:g} |")
    return "\n".join(out) + "\n"
