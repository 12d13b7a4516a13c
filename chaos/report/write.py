"""Write every report of a journal next to it (or into another directory)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from chaos.evidence.starvation import health_summary
from chaos.journal import read_journal_checked
from chaos.report import html, junit, markdown
from chaos.report.data import ReportData, build_read
from chaos.report.metrics import openmetrics, samples
from chaos.report.plot import gantt_png, timeline_png


def as_json(data: ReportData) -> dict[str, object]:
    pct = data.traffic.percentiles_ms()
    return {
        "experiment": data.spec.name,
        "complete": data.complete,
        "speed": data.speed,
        "verdict": data.verdict.as_dict(),
        "nodes": [m.as_dict() for m in data.nodes],
        "traffic": {"requests": data.traffic.requests, "errors": data.traffic.errors, "error_rate": round(data.traffic.error_rate, 6),
                    "errors_by_class": data.traffic.by_class(), "latency_ms": pct,
                    "per_second": [{"t": s.start_t, "requests": s.requests, "errors": s.errors, "p99_ms": s.p99_ms} for s in data.traffic.seconds]},
        "phases": [{"t": t, "phase": p} for t, p in data.phases],
        "steady_state": [{k: getattr(r, k) for k in ("when", "ok", "problems", "ready", "desired", "requests", "error_rate")} for r in data.steady_state],
        "rollback": [r.as_json() for r in data.rollback],
        "health": {"summary": asdict(summary) if (summary := health_summary(data.health)) else None,
                   "seconds": [asdict(h) for h in data.health]},
        "malformed_records": [str(m) for m in data.malformed],
        "left_out": list(data.left_out),
    }


METRICS_FILE = "metrics.openmetrics.txt"


def write_reports(journal: Path, out_dir: Path | None = None) -> tuple[ReportData, dict[str, Path]]:
    reading = read_journal_checked(journal)
    data = build_read(reading)
    out = out_dir or journal.parent
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "report.md", "html": out / "report.html", "json": out / "report.json", "junit": out / "junit.xml"}
    timeline, gantt = timeline_png(data), gantt_png(data)
    paths["markdown"].write_text(markdown.render(data))
    paths["html"].write_text(html.render(data, timeline, gantt))
    paths["json"].write_text(json.dumps(as_json(data), indent=2, default=str) + "\n")
    paths["junit"].write_text(junit.render(data))
    paths["metrics"] = out / METRICS_FILE
    paths["metrics"].write_text(openmetrics(samples(data)))
    # the pictures as files too, for the postmortem draft and for pasting elsewhere
    paths["timeline"] = out / "timeline.png"
    paths["timeline"].write_bytes(timeline)
    if gantt is not None:
        paths["gantt"] = out / "gantt.png"
        paths["gantt"].write_bytes(gantt)
    return data, paths
