"""`spotchaos run` on a terminal: the run as an asyncio task that Ctrl-C or SIGTERM cancels (the
run then rolls back), a live view, and the reports written at the end."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape

from chaos.host import event_loop
from chaos.host.low_priority import at_low_priority
from chaos.identity import default_report_dir, new_run_id
from chaos.journal import JournalError
from chaos.journal.records import NoteRecord
from chaos.report.data import ReportData
from chaos.report.write import write_reports
from chaos.run import Run, RunOptions
from chaos.run.results import Destinations
from chaos.spec import Experiment
from chaos.terminal.live import view
from chaos.verdict.outcome import left_behind

ROLLING_BACK = "rolling back; Ctrl-C again to leave the rest to `spotchaos cleanup`"


async def drive(run: Run, tick: Callable[[], None] | None = None, started: Callable[[asyncio.Task[Any]], None] | None = None,
                say: Callable[[str], None] | None = None) -> None:
    """The run as a task that the first Ctrl-C or SIGTERM aborts (the run then rolls back);
    `tick` redraws a view four times a second, `started` gets the task (a game day's abort key
    cancels it the same way).  Once rolling back, a Ctrl-C is answered on `say` and the rollback
    goes on; a second one stops it and the run ends, aborted, with what is left journaled for
    `spotchaos cleanup`."""
    loop = asyncio.get_running_loop()
    body = asyncio.create_task(run.execute())
    if started is not None:
        started(body)
    during_rollback = {"n": 0}

    def interrupt(sig: signal.Signals) -> None:
        if not run.rolling_back:
            if run.abort_reason is None:
                run.abort(f"{sig.name} received")
            body.cancel()
            return
        during_rollback["n"] += 1
        if during_rollback["n"] == 1:
            (say or (lambda line: None))(ROLLING_BACK)
            try:
                run.journal.write(NoteRecord(text=f"{sig.name} during the rollback: {ROLLING_BACK}", author="spotchaos", role="harness"))
            except ValueError:  # the verdict is written and the journal closed: nothing is left to roll back
                pass
        else:
            body.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt, sig)
    try:
        while not body.done():
            await asyncio.wait({body}, timeout=0.25)
            if tick is not None:
                tick()
        await body
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


REGRESSED_EXIT = 4  # passed, but a measurement regressed toward its bound (`--fail-on-regression`)


def new_run(spec: Experiment, report_dir: Path | None, err: Console, **options: Any) -> tuple[Run | None, Path]:
    """(the run, its directory), warnings printed on `err`; (None, directory) when its journal
    cannot be made there (said on `err`)."""
    run_id = new_run_id(spec.name)
    directory = report_dir or default_report_dir(run_id)
    try:
        return Run(spec, RunOptions(directory, run_id=run_id, **options,
                                    on_warning=lambda line: err.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False, soft_wrap=True))), directory
    except JournalError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return None, directory


def execute(spec: Experiment, report_dir: Path | None, dry_run: bool, show_live: bool, out: Console, err: Console,
            fail_on_regression: bool = False, to: Destinations | None = None) -> int:
    run, directory = new_run(spec, report_dir, err, dry_run=dry_run)
    if run is None:
        return 3
    run_id = run.run_id
    err.print(f"running {spec.name} (run {run_id}); journal: {run.journal.path}", highlight=False, soft_wrap=True, markup=False)
    def say(line: str) -> None:
        err.print(f"[yellow]{escape(line)}[/yellow]", highlight=False, soft_wrap=True)

    if show_live:
        with Live(console=err, refresh_per_second=4, transient=False) as live:
            event_loop.run(drive(run, lambda: live.update(view(run.spec.name, run.phase, run.clock.now(), run.milestones.milestones(), run.traffic)),
                                 say=say))
    else:
        event_loop.run(drive(run, say=say))
    return conclude(spec, run, directory, dry_run, out, err, fail_on_regression, to)


def conclude(spec: Experiment, run: Run, directory: Path, dry_run: bool, out: Console, err: Console, fail_on_regression: bool = False,
             to: Destinations | None = None, extra: Callable[[ReportData], dict[str, Path]] | None = None) -> int:
    """After the run: the reports (and what `extra` writes from the same data), results delivered,
    the verdict printed; the exit code."""
    data, paths = at_low_priority(lambda: write_reports(run.journal.path))  # other runs beside this one may still be measuring
    if extra is not None:
        paths = {**paths, **extra(data)}
    regressed = False
    if not dry_run:
        from chaos.run.results import deliver

        delivered = deliver(data, directory, paths, to or Destinations())
        for line in delivered.warnings:
            err.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
        for r in delivered.regressions:
            err.print(f"[yellow]regressed:[/yellow] {escape(r.line())}", highlight=False, soft_wrap=True)
        for line in delivered.metrics:
            err.print(escape(line), highlight=False, soft_wrap=True)
        if delivered.uploaded:
            err.print(f"uploaded {len(delivered.uploaded)} files to {escape(delivered.uploaded[0].rsplit('/', 1)[0])}/", highlight=False, soft_wrap=True)
        regressed = bool(delivered.regressions)
    v = data.verdict
    style = {"passed": "green", "failed": "red", "aborted": "yellow", "error": "red", "inconclusive": "yellow"}.get(v.status, "red")
    out.print(f"[{style}]{v.status.upper()}[/{style}] {escape(spec.name)}: {escape(v.reason)}", soft_wrap=True, highlight=False)
    for h in v.hypotheses:
        out.print(f"  {h.status:9} {h.name}: {h.measured} (bound {h.bound})", highlight=False, soft_wrap=True, markup=False)
    out.print(f"reports: {' '.join(str(p) for p in paths.values())}", highlight=False, soft_wrap=True, markup=False)
    left = left_behind(data.records)
    if left:
        err.print(f"[red]rollback left {len(left)} in place:[/red]", highlight=False)
        for line in left:
            err.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
        err.print(f"undo them with: spotchaos cleanup {escape(str(directory))}", highlight=False, soft_wrap=True)
    if fail_on_regression and regressed and v.exit_code == 0:
        return REGRESSED_EXIT
    return v.exit_code
