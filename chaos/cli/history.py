"""`history` and `trend`: the runs recorded, compared and trended."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from chaos.cli.app import ReadHistoryUrl, app, err, fail, out, writable


@app.command("history")
def history_cmd(
    args: Annotated[list[str] | None, typer.Argument(help="EXPERIMENT to list its runs, or: import RUN_DIR... to load runs from their journals.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only runs started at or after this ISO date or time, e.g. 2026-11-01.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only runs on local or eks.")] = None,
    history: ReadHistoryUrl = None,
) -> None:
    """The run history: a table of runs (newest first), or `history import DIR...` to load run directories from their journals."""
    from rich.table import Table

    from chaos.history.store import HistoryError, open_store, refuse_off, remember, runs
    from chaos.journal import JournalError, journal_file, read_journal_checked
    from chaos.report.data import build_read

    words = list(args or [])
    try:
        refuse_off(history)
        engine = open_store(history)
    except HistoryError as exc:
        fail(str(exc))
        return
    if words[:1] == ["import"]:
        if len(words) < 2:
            fail("history import needs one or more run directories (or journal.jsonl files)")
        failed = 0
        for name in words[1:]:
            path = Path(name)
            journal = journal_file(path)
            try:
                reading = read_journal_checked(journal)
                data = build_read(reading)
            except (JournalError, OSError) as exc:
                err.print(f"[red]skipped[/red] {escape(name)}: {escape(str(exc))}", highlight=False, soft_wrap=True)
                failed += 1
                continue
            problem = remember(data, journal.parent, history or os.environ.get("SPOTCHAOS_HISTORY"))
            if problem:
                fail(problem)
            out.print(f"imported {escape(data.spec.name)} ({escape(str(data.verdict.status))}) from {escape(name)}", highlight=False, soft_wrap=True)
        raise typer.Exit(3 if failed else 0)
    if len(words) > 1:
        fail("give one EXPERIMENT name, or: history import RUN_DIR...")
    rows = runs(engine, words[0] if words else None, since, target)
    if not rows:
        out.print("no runs recorded" + (f" for {escape(words[0])}" if words else "") + " yet", highlight=False)
        return
    table = Table(box=None)
    table.add_column("started (UTC)", no_wrap=True)
    for name in ("experiment", "target", "verdict", "errors", "p99 ms"):
        table.add_column(name, overflow="fold")
    table.add_column("run directory", overflow="fold")
    for r in rows:
        p99 = "-" if r["p99_ms"] is None else f"{r['p99_ms']:.0f}"
        where = r["target"] + "".join(f" {r[k]}" for k in ("account", "cluster") if r.get(k))
        table.add_row(escape(r["started"][:16].replace("T", " ")), escape(r["experiment"]), escape(where), escape(r["verdict"]),
                      f"{(r['error_rate'] or 0):.2%}", p99, escape(r["run_dir"]))
    out.print(table)


@app.command("trend")
def trend_cmd(
    experiment: Annotated[str, typer.Argument(help="The experiment's name, as the run history has it.")],
    html_file: Annotated[Path | None, typer.Option("--html", help="Write the charts here (one per hypothesis against its bound).")] = None,
    markdown_file: Annotated[Path | None, typer.Option("--markdown", help="Write the table here (pass rates, flaky hypotheses).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only runs started at or after this ISO date or time.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only runs on local or eks.")] = None,
    history: ReadHistoryUrl = None,
) -> None:
    """An experiment's hypotheses over its recorded runs: values against their bounds, pass rates, flaky ones."""
    from chaos.history import trend_page
    from chaos.history.store import (
        HistoryError,
        hypothesis_history,
        milestone_history,
        open_store,
        refuse_off,
    )
    from chaos.history.trend import milestone_trends, trends

    try:
        refuse_off(history)
        engine = open_store(history)
        items = trends(hypothesis_history(engine, experiment, since, target))
        milestones = milestone_trends(milestone_history(engine, experiment, since, target))
    except HistoryError as exc:
        fail(str(exc))
        return
    if not items:
        fail(f"no runs of {experiment} in the run history; `spotchaos history` lists what is there")
    for path, text in ((html_file, trend_page.html_page), (markdown_file, trend_page.markdown_page)):
        if path is None:
            continue
        if not writable(path):
            fail(f"cannot write {path}: give a writable file")
        path.write_text(text(experiment, items, milestones))
    out.print(trend_page.markdown_page(experiment, items, milestones), highlight=False, markup=False, soft_wrap=True)
