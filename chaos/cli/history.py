"""`history` and `trend`: the runs recorded, compared and trended."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from chaos.cli.app import ReadHistoryUrl, app, err, fail, out, writable
from chaos.cli.output import OutputFormat, document, emit, machine


@app.command("history")
def history_cmd(
    args: Annotated[list[str] | None, typer.Argument(help="EXPERIMENT to list its runs, or: import RUN_DIR... to load runs from their journals.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only runs started at or after this ISO date or time, e.g. 2026-11-01.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only runs on local or eks.")] = None,
    history: ReadHistoryUrl = None,
    output: OutputFormat = None,
) -> None:
    """The run history: a table of runs (newest first), or `history import DIR...` to load run directories from their journals."""
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
    if machine(output):
        emit(document("RunList", items=rows), str(output))
        return
    if not rows:
        out.print("no runs recorded" + (f" for {escape(words[0])}" if words else "") + " yet", highlight=False)
        return
    # the long form is as wide as its cells (a pager or a file scrolls); the short one fits the terminal
    columns = RUN_COLUMNS + WIDE_COLUMNS if output == "wide" else fitting(rows, RUN_COLUMNS, out.width)
    typer.echo("\n".join(aligned(rows, columns)))


Column = tuple[str, Callable[[dict[str, Any]], str]]  # (header, the cell of a run)
RUN_COLUMNS: tuple[Column, ...] = (
    ("started (UTC)", lambda r: r["started"][:16].replace("T", " ")),
    ("experiment", lambda r: r["experiment"]),
    ("verdict", lambda r: r["verdict"]),
    ("errors", lambda r: f"{(r['error_rate'] or 0):.2%}"),
    ("p99 ms", lambda r: "-" if r["p99_ms"] is None else f"{r['p99_ms']:.0f}"),
    ("target", lambda r: r["target"]),
)
WIDE_COLUMNS: tuple[Column, ...] = (
    ("account", lambda r: r.get("account") or "-"),
    ("cluster", lambda r: r.get("cluster") or "-"),
    ("run directory", lambda r: r["run_dir"]),
)
DROPPED_FIRST = ("target", "p99 ms", "errors")  # when the short form is too narrow


def fitting(rows: list[dict[str, Any]], columns: tuple[Column, ...], width: int, dropped: tuple[str, ...] = DROPPED_FIRST) -> tuple[Column, ...]:
    """The columns that fit in `width` with every cell whole: the optional ones go (history's:
    target, then p99, then errors) rather than any name or time being cut; `-o wide` shows them all."""

    def needed(cols: tuple[Column, ...]) -> int:
        return sum(max(len(header), *(len(cell(r)) for r in rows)) + 3 for header, cell in cols) - 3

    for drop in dropped:
        if needed(columns) <= width:
            break
        columns = tuple(c for c in columns if c[0] != drop)
    return columns


def aligned(rows: list[dict[str, Any]], columns: tuple[Column, ...]) -> list[str]:
    """kubectl's table: upper-case headers, columns padded to their widest cell, three spaces
    apart; plain text, so a pipe or grep sees whole cells."""
    cells = [[header.upper() for header, _ in columns]] + [[cell(r) for _, cell in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return ["   ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]


@app.command("trend")
def trend_cmd(
    experiment: Annotated[str, typer.Argument(help="The experiment's name, as the run history has it.")],
    html_file: Annotated[Path | None, typer.Option("--html", help="Write the charts here (one per hypothesis against its bound).")] = None,
    markdown_file: Annotated[Path | None, typer.Option("--markdown", help="Write the table here (pass rates, flaky hypotheses).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only runs started at or after this ISO date or time.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only runs on local or eks.")] = None,
    history: ReadHistoryUrl = None,
    output: OutputFormat = None,
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
    if machine(output):
        emit(document("Trend", experiment=experiment, hypotheses=[
            {"name": t.name, "check": t.check, "bound": t.bound, "pass_rate": round(t.pass_rate, 4), "flaky": t.flaky, "flaky_on": t.flaky_on,
             "points": [asdict(p) for p in t.points]} for t in items],
            milestones=[{"milestone": m.milestone, "points": [{"started": at, "seconds": v} for at, v in m.points]} for m in milestones]), str(output))
        return
    rows = [{"hypothesis": t.name, "bound": t.bound, "pass rate": f"{t.pass_rate:.0%}", "flaky": "yes" if t.flaky else "no",
             "latest": t.latest, "flaky on": "; ".join(t.flaky_on) or "-"} for t in items]
    columns = TREND_COLUMNS + TREND_WIDE if output == "wide" else fitting(rows, TREND_COLUMNS, out.width, ("bound", "latest"))
    typer.echo(f"{experiment}: {len(items[0].points)} runs")
    typer.echo("\n".join(aligned(rows, columns)))
    if milestones:
        steps = [{"milestone": m.milestone.replace("_", " "), "median": f"{m.median:g}", "latest": f"{m.points[-1][1]:g}"} for m in milestones]
        typer.echo("\n" + "\n".join(aligned(steps, MILESTONE_COLUMNS)))


def _cell(key: str) -> Column:
    return (key, lambda row: row[key])


# `trend` at a terminal: the Markdown document (--markdown) is for a review, this for 80 columns
TREND_COLUMNS: tuple[Column, ...] = tuple(_cell(k) for k in ("hypothesis", "pass rate", "latest", "flaky", "bound"))
TREND_WIDE: tuple[Column, ...] = (_cell("flaky on"),)
MILESTONE_COLUMNS: tuple[Column, ...] = (("node milestone", lambda r: r["milestone"]), ("median s", lambda r: r["median"]),
                                         ("latest s", lambda r: r["latest"]))
