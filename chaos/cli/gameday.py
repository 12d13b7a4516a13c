"""`gameday`, `watch` and `note`: a game day driven by people, watched and annotated from other terminals."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from chaos.cli.app import ExperimentFile, LogFormat, app, err, fail, out
from chaos.cli.inputs import load_spec
from chaos.logs import configure


@app.command("gameday")
def gameday(
    file: ExperimentFile,
    target: Annotated[str | None, typer.Option("--target", help="local (default: a simulator started for the run) or eks")] = None,
    speed: Annotated[float | None, typer.Option("--speed", help="local: cluster time runs this many times faster than real time")] = None,
    report_dir: Annotated[Path | None, typer.Option("--report-dir", help="Where the journal, reports and postmortem draft go (default: spotchaos-runs/NAME-TIME).")] = None,
    log_format: LogFormat = "console",
) -> None:
    """A guided game day on a terminal: go/no-go checks executed, the driver's go, a full-screen live view with notes (n) and abort (a), a postmortem draft at the end."""
    spec = load_spec(file, target, speed)  # the file first: a bad one is the first thing to say
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail("gameday needs a terminal (a person drives it); in CI or a pipe use `spotchaos run FILE`")
    configure(log_format, level="error" if log_format == "console" else "info")
    from chaos.gameday.driver import run_gameday
    from chaos.gameday.screen import terminal_console

    raise typer.Exit(run_gameday(spec, report_dir, terminal_console(), err))  # type: ignore[arg-type]


@app.command("watch")
def watch_run(
    run_dir: Annotated[Path, typer.Argument(help="A running run's directory (or its journal.jsonl), local or synced from S3.")],
) -> None:
    """The game-day screen, read-only, for observers: follows the run's journal until its verdict; exit code as the verdict."""
    from chaos.gameday.screen import terminal_console
    from chaos.gameday.watch import watch
    from chaos.journal import JournalError

    try:
        code = watch(run_dir, terminal_console())
    except JournalError as exc:
        fail(str(exc))
        return
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


@app.command("note")
def add_note(
    run_dir: Annotated[Path, typer.Argument(help="A running run's directory (or its journal.jsonl).")],
    text: Annotated[str, typer.Argument(help="The note, as it should read in the timeline.")],
    author: Annotated[str | None, typer.Option("--author", help="Who wrote it (default: $SPOTCHAOS_AUTHOR, else $USER).")] = None,
) -> None:
    """Add an observer's note to a running run's journal, stamped with the run's cluster time now."""
    from chaos.gameday.driver import author_name
    from chaos.gameday.follow import append_note
    from chaos.journal import JournalError

    if not text.strip():
        fail("the note is empty; give its text: spotchaos note RUN_DIR \"what you saw\"")
    try:
        record = append_note(run_dir, text.strip(), (author or author_name()).strip() or "observer")
    except JournalError as exc:
        fail(str(exc))
        return
    except OSError as exc:
        fail(f"{run_dir}: cannot add to the journal: {exc.strerror or exc}")
        return
    out.print(f"noted at t={record.t:.1f}s", highlight=False, markup=False)
