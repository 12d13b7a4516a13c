"""`spotchaos run` on a terminal: the run as an asyncio task that Ctrl-C or SIGTERM cancels (the
run then rolls back), a live view, and the reports written at the end."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape

from chaos import event_loop
from chaos.journal import JournalError
from chaos.live import view
from chaos.report.write import write_reports
from chaos.run import Run, RunOptions
from chaos.run_identity import default_report_dir, new_run_id
from chaos.run_results import Destinations
from chaos.spec import Experiment
from chaos.verify import left_behind


async def _main(run: Run, live: Live | None) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    body = asyncio.create_task(run.execute())
    signals = {"n": 0}

    def interrupt(sig: signal.Signals) -> None:
        signals["n"] += 1
        if signals["n"] == 1:
            run.abort(f"{sig.name} received")
            body.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt, sig)
    try:
        while not body.done():
            await asyncio.wait({body}, timeout=0.25)
            if live is not None:
                live.update(view(run.spec.name, run.phase, run.clock.now(), run.milestones.milestones(), run.traffic))
        await body
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


REGRESSED_EXIT = 4  # passed, but a measurement regressed toward its bound (`--fail-on-regression`)


def execute(spec: Experiment, report_dir: Path | None, dry_run: bool, show_live: bool, out: Console, err: Console,
            fail_on_regression: bool = False, to: Destinations | None = None) -> int:
    run_id = new_run_id(spec.name)
    directory = report_dir or default_report_dir(run_id)
    try:
        run = Run(spec, RunOptions(directory, dry_run=dry_run, run_id=run_id,
                                   on_warning=lambda line: err.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False, soft_wrap=True)))
    except JournalError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 3
    err.print(f"running {spec.name} (run {run_id}); journal: {run.journal.path}", highlight=False, soft_wrap=True, markup=False)
    if show_live:
        with Live(console=err, refresh_per_second=4, transient=False) as live:
            event_loop.run(_main(run, live))
    else:
        event_loop.run(_main(run, None))
    data, paths = write_reports(run.journal.path)
    regressed = False
    if not dry_run:
        from chaos.run_results import deliver

        delivered = deliver(data, directory, paths, to or Destinations())
        for line in delivered.warnings:
            err.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
        for r in delivered.regressions:
            err.print(f"[yellow]regressed:[/yellow] {escape(r.line())}", highlight=False, soft_wrap=True)
        if delivered.uploaded:
            err.print(f"uploaded {len(delivered.uploaded)} files to {escape(delivered.uploaded[0].rsplit('/', 1)[0])}/", highlight=False, soft_wrap=True)
        regressed = bool(delivered.regressions)
    v = data.verdict
    style = {"passed": "green", "failed": "red", "aborted": "yellow", "error": "red"}[v.status]
    out.print(f"[{style}]{v.status.upper()}[/{style}] {escape(spec.name)}: {escape(v.reason)}", soft_wrap=True, highlight=False)
    for h in v.hypotheses:
        out.print(f"  {h.status:9} {h.name}: {h.measured} (bound {h.bound})", highlight=False, soft_wrap=True, markup=False)
    out.print(f"reports: {paths['html']} {paths['json']} {paths['junit']} {paths['markdown']}", highlight=False, soft_wrap=True, markup=False)
    left = left_behind(data.records)
    if left:
        err.print(f"[red]rollback left {len(left)} in place:[/red]", highlight=False)
        for line in left:
            err.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
        err.print(f"undo them with: spotchaos cleanup {escape(str(directory))}", highlight=False, soft_wrap=True)
    if fail_on_regression and regressed and v.exit_code == 0:
        return REGRESSED_EXIT
    return v.exit_code
