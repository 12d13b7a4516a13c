"""Chaos Toolkit actions: run a spotchaos experiment (its injections, its rollback, its verdict)
from a Chaos Toolkit experiment's method.  What an action returns is in Chaos Toolkit's journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.identity import new_run_id


def run_experiment(path: str, runs_dir: str = "spotchaos-runs", target: str | None = None, speed: str | None = None,
                   history: str | None = None) -> dict[str, Any]:
    """Run the spotchaos experiment in `path` end to end (the local simulator it starts, or EKS as
    its target says; `target` and `speed` override it) and return its verdict: status, reason,
    exit code, whether it is what the experiment expects, each hypothesis measured against its
    bound, and the run's directory (journal and reports: `runs_dir`/RUN_ID; a probe given
    `runs_dir` reads the newest run there).  A breached hypothesis is a verdict, not an error: a probe
    (probes.hypothesis_held, probes.verdict_is) turns it into Chaos Toolkit's deviation."""
    from chaos.host import event_loop
    from chaos.host.low_priority import at_low_priority
    from chaos.report.write import write_reports
    from chaos.run import RunOptions
    from chaos.run import run_experiment as run
    from chaos.run.results import Destinations, deliver
    from chaos.spec import load_experiment, with_target
    from chaos.verdict.expectation import unmet

    spec = with_target(load_experiment(Path(path)), path, target, speed)
    directory = Path(runs_dir) / new_run_id(spec.name)
    _, finished = event_loop.run(run(spec, RunOptions(directory)))
    data_, reports = at_low_priority(lambda: write_reports(finished.journal.path))
    delivered = deliver(data_, directory, reports, Destinations(history=history))
    verdict = data_.verdict
    return {
        "experiment": spec.name,
        "verdict": verdict.status,
        "reason": verdict.reason,
        "exit_code": verdict.exit_code,
        "as_expected": not unmet(spec, verdict),
        "hypotheses": [{"name": h.name, "check": h.check, "status": h.status, "measured": h.measured, "bound": h.bound, "value": h.value}
                       for h in verdict.hypotheses],
        "report_dir": str(directory.resolve()),
        "warnings": delivered.warnings,
    }
