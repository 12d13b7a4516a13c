"""Chaos Toolkit actions: run a spotchaos experiment (its injections, its rollback, its verdict)
from a Chaos Toolkit experiment's method; or put one of its injections in place (`inject`), let the
Chaos Toolkit method probe the cluster while it is, and end it from the experiment's rollbacks
(`rollback_injection`).  What an action returns is in Chaos Toolkit's journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.identity import new_run_id

ROLLBACK_GRACE_S = 300.0  # how long a run stopped with Ctrl-C may take to roll back and write its reports


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


class InjectionNotMade(RuntimeError):
    """`inject` could not put its fault in place; the message says why and where the run's journal is."""


def inject(path: str, injection: int | str = 0, runs_dir: str = "spotchaos-runs", target: str | None = None, speed: str | None = None,
           history: str | None = None, timeout: float = 900.0) -> dict[str, Any]:
    """Put one injection of the spotchaos experiment in `path` in place and return once it is out:
    `injection` is its index in `injections` (0 is the first), its name or its label
    (injection-N).  The run goes on in a process of its own: it observes the cluster's answer to
    the fault, judges the experiment's hypotheses, and rolls the fault back at its end, also if
    Chaos Toolkit stops first.  Returns the run's directory and the nodes the fault took, with the
    instance, zone and the cluster second EC2 reclaims each.  Put `rollback_injection` with the
    same `runs_dir` in the experiment's rollbacks: it waits for the run's verdict, or with
    `interrupt` ends the fault at once, and undoes anything a killed run left."""
    from chaos.chaostoolkit import background_run
    from chaos.spec import load_experiment, only_injection, with_target
    from cluster.waiting import WaitTimeout

    spec = only_injection(with_target(load_experiment(Path(path)), path, target, speed), injection, path)
    directory = Path(runs_dir) / new_run_id(spec.name)
    pid = background_run.start(Path(path), injection, directory, target, speed, history)
    progress = background_run.Progress(directory / "journal.jsonl")
    try:
        background_run.wait_for_injection(progress, pid, timeout)
    except WaitTimeout:
        if progress.owner is not None:
            background_run.interrupt(progress.owner)  # it rolls back what it did so far
        raise InjectionNotMade(f"{spec.name}: no injection within {timeout:g}s; the run was stopped and rolls back: "
                               f"see {directory / 'journal.jsonl'} and {directory / background_run.LOG_NAME}") from None
    if not progress.injected:
        why = progress.verdict.reason if progress.verdict is not None else "its process ended before injecting"
        raise InjectionNotMade(f"{spec.name}: nothing was injected ({why}); see {directory / 'journal.jsonl'} and {directory / background_run.LOG_NAME}")
    return {
        "experiment": spec.name,
        "injection": spec.injections[0].label(0),
        "report_dir": str(directory.resolve()),
        "pid": pid,
        "injected": [{"node": r.node, "instance": r.instance, "az": r.az, "group": r.group, "wave": r.wave, "via": r.via,
                      "reclaim_t": r.reclaim_t} for r in progress.injected],
    }


def rollback_injection(run: str | dict[str, Any], interrupt: bool = False, timeout: float = 900.0) -> dict[str, Any]:
    """End what `inject` started.  `run` is the run's directory, the `runs_dir` inject wrote into
    (its newest run), or what inject returned.  By default it waits for the run to reach its
    verdict, which rolls the fault back; with `interrupt` (or once `timeout` seconds have passed)
    it stops the run now, as Ctrl-C does: the fault is rolled back and the verdict is aborted.
    Whatever a run killed outright left (a FIS experiment still running, a notice still served),
    it undoes from the run's undo log, as `spotchaos cleanup` does.  Returns the verdict and what
    was cleaned up."""
    from chaos.chaostoolkit import background_run
    from chaos.chaostoolkit.probes import ProbeInputError, report_of, run_directory
    from chaos.host import event_loop
    from chaos.journal import read_journal
    from chaos.journal.records import VerdictRecord
    from chaos.report.write import write_reports
    from chaos.undo.cleanup import cleanup_run_dir
    from chaos.undo.log import pending, undo_step_name

    directory = run_directory(run, "journal.jsonl")
    if not (directory / "journal.jsonl").is_file():
        raise ProbeInputError(f"run {directory}: no journal.jsonl; give the runs_dir or the report_dir the inject action used")
    progress = background_run.Progress(directory / "journal.jsonl")
    progress.poll()
    if progress.owner is None:
        raise ProbeInputError(f"run {directory}: its journal names no process that ran it")
    interrupted = interrupt and background_run.interrupt(progress.owner)
    if not background_run.wait_for_end(progress.owner, timeout):
        interrupted = background_run.interrupt(progress.owner) or interrupted
        if not background_run.wait_for_end(progress.owner, ROLLBACK_GRACE_S):
            raise InjectionNotMade(f"run {directory}: still rolling back {ROLLBACK_GRACE_S:g}s after its Ctrl-C (pid {progress.owner.pid}); "
                                   f"`spotchaos cleanup {directory}` undoes what it leaves once it has ended")
    journal = directory / "journal.jsonl"
    cleaned = []
    if pending(read_journal(journal)):  # the run was killed before its rollback ended
        done = event_loop.run(cleanup_run_dir(directory))
        cleaned = [{"step": u.step, "ok": u.ok, "detail": u.detail} for u in done.done]
    records = read_journal(journal)  # with what the cleanup recorded
    if not (directory / "report.json").is_file() or not isinstance(records[-1], VerdictRecord):
        write_reports(journal)  # a killed run wrote none: judged on what it recorded
    verdict = report_of(str(directory))["verdict"]
    return {
        "report_dir": str(directory.resolve()),
        "verdict": verdict["status"],
        "reason": verdict["reason"],
        "interrupted": interrupted,
        "cleaned_up": cleaned,
        "left": [{"step": undo_step_name(i), "id": i.id} for i in pending(records)],
    }
