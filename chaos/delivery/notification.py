"""What `--notify URL` posts after a run: when (on failure, abort, error or regression; always
with --notify-always) and the summary, as JSON that a Slack or Teams incoming webhook shows
(`text`, in their shared Markdown subset) and a generic receiver can read (`spotchaos`: the
verdict, the breached and regressed hypotheses, the report's location).  Pure."""

from __future__ import annotations

from typing import Any

from chaos.journal.records import ExperimentRecord
from chaos.report.data import ReportData

MAX_LISTED = 10  # hypotheses named in the text; the structured part lists them all


def should_notify(status: str, regressed: bool, always: bool, as_expected: bool | None = None) -> bool:
    """`as_expected`: whether the run reached what its experiment expects (a known-bad experiment
    expects to fail: its failure is no news), when the caller judges that."""
    if always or regressed:
        return True
    return not as_expected if as_expected is not None else status != "passed"


def summary(data: ReportData, regressions: list[Any], report: str) -> dict[str, Any]:
    v = data.verdict
    name = data.spec.name
    first = data.records[0] if data.records else None
    run_id = (first.run_id if isinstance(first, ExperimentRecord) else None) or ""
    breached = [h for h in v.hypotheses if h.status == "fail"]
    head = f"spotchaos: {name} {v.status.upper()}" + (" (regressed)" if regressions and v.status == "passed" else "")
    lines = [f"*{head}*: {v.reason}"]
    lines += [f"• breached {h.name}: {h.measured} (bound {h.bound})" for h in breached[:MAX_LISTED]]
    lines += [f"• regressed {r.line()}" for r in regressions[:MAX_LISTED]]
    lines.append(f"report: {report}")
    return {
        "text": "\n".join(lines),
        "spotchaos": {
            "experiment": name, "run_id": run_id, "status": v.status, "exit_code": v.exit_code, "reason": v.reason,
            "breached": [{"name": h.name, "measured": h.measured, "bound": h.bound} for h in breached],
            "regressed": [r.line() for r in regressions], "report": report,
        },
    }
