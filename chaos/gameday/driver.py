"""`spotchaos gameday`: the run driven from a terminal by a person.  The screen
(chaos/gameday/screen.py) redraws four times a second from folds of the journal; keys are read
one at a time (the terminal in cbreak mode, a reader on the event loop); the run asks this driver
at its gates (chaos/run/gates.py) and the driver answers from what is typed.  A terminal too small
for the screen gets one line per event instead."""

from __future__ import annotations

import asyncio
import os
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from chaos.gameday.cluster_fold import ClusterFold
from chaos.gameday.prompt import Prompt
from chaos.gameday.screen import MIN_COLUMNS, MIN_LINES, Decided, fits, print_event, screen
from chaos.host import event_loop
from chaos.journal import Record
from chaos.journal.records import NoteRecord
from chaos.report.data import ReportData
from chaos.report.postmortem import draft
from chaos.run import Run
from chaos.run.context import GateAnswer, GateRequest
from chaos.spec import Experiment, Scope
from chaos.verdict.outcome import UNDECIDED, evaluate


def author_name() -> str:
    return os.environ.get("SPOTCHAOS_AUTHOR") or os.environ.get("USER") or os.environ.get("LOGNAME") or "driver"


@contextmanager
def keys_one_at_a_time(fd: int) -> Iterator[None]:
    """cbreak: each key as it is pressed, no echo; Ctrl-C still signals (the run rolls back)."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class GameDay:
    def __init__(self, run: Run, console: Console, author: str, *, full_screen: bool) -> None:
        self.run = run
        self.console = console
        self.author = author
        self.full_screen = full_screen
        self.fold = ClusterFold()
        run.journal.listeners.append(self.fold.add)
        if not full_screen:
            run.journal.listeners.append(self._line)
        self.prompts: list[tuple[Prompt, Callable[[str | None], None]]] = []
        self.gate_checks: list[str] = []
        self.show_help = False
        self.body: asyncio.Task[Any] | None = None

    # ---- what is shown
    def _line(self, record: Record) -> None:
        """The small-terminal view: one line per event worth a line."""
        print_event(self.console, record)

    def prompt_text(self) -> str | None:
        if not self.prompts:
            return None
        return "\n".join([*self.gate_checks, self.prompts[0][0].line()])

    def decided(self) -> list[Decided]:
        results = evaluate(self.run.spec, [], self.run.clock.now(), final=False, scopes=frozenset({Scope.NODE}), nodes=self.run.milestones.milestones())
        return [Decided(h.name, str(h.status), h.measured) for h in results if h.status != UNDECIDED]

    def view(self) -> Any:
        return screen(self.run.spec.name, self.fold, self.run.milestones.milestones(), self.run.traffic, self.decided(),
                      prompt=self.prompt_text(), show_help=self.show_help)

    # ---- prompts and keys
    def ask(self, prompt: Prompt, then: Callable[[str | None], None]) -> None:
        self.prompts.append((prompt, then))
        if not self.full_screen and len(self.prompts) == 1:
            self._print_prompt()

    def _print_prompt(self) -> None:
        self.console.print("\n".join([*self.gate_checks, self.prompts[0][0].line().rstrip("█")]), highlight=False, markup=False, soft_wrap=True)

    async def answer(self, prompt: Prompt) -> str | None:
        done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.ask(prompt, lambda a: done.set_result(a) if not done.done() else None)
        return await done

    def on_key(self, key: str) -> None:
        if self.prompts:
            prompt, then = self.prompts[0]
            if not self.full_screen and not prompt.single_key and key.isprintable():
                print(key, end="", flush=True)  # no echo in cbreak: the line view echoes what is typed
            if prompt.feed(key):
                self.prompts.pop(0)
                if not self.full_screen:
                    print(flush=True)
                then(prompt.answer)
                if self.prompts and not self.full_screen:
                    self._print_prompt()
            elif prompt.hint and not self.full_screen:
                self.console.print(f"({prompt.hint})", highlight=False, markup=False, soft_wrap=True)
            return
        if key == "n":
            t = self.run.clock.now()  # the note is stamped when the driver began it
            self.ask(Prompt("note (Enter writes it, Esc drops it):"), lambda text: self._note(t, text))
        elif key == "a":
            self.ask(Prompt("Abort the run and roll everything back?", single_key=True), self._abort)
        elif key == "h":
            self.show_help = not self.show_help
            if not self.full_screen:
                from chaos.gameday.screen import HELP

                self.console.print(HELP, highlight=False, markup=False, soft_wrap=True)

    def _note(self, t: float, text: str | None) -> None:
        if text:
            self.run.journal.write(NoteRecord(text=text, author=self.author, role="driver"), t=t)

    def _abort(self, answer: str | None) -> None:
        # the abort key starts the rollback; once it runs, only a second Ctrl-C stops it (runner_cli.drive)
        if answer is not None and not self.run.rolling_back:
            self.run.abort(f"aborted by the driver, {self.author}")
            if self.body is not None:
                self.body.cancel()

    # ---- the run's gates
    async def gate(self, request: GateRequest) -> GateAnswer:
        overrides: list[tuple[str, str]] = []
        try:
            if request.gate == "go":
                self.gate_checks = ["GO / NO-GO"] + [f"  {'pass' if c.ok else 'FAIL'}  {c.name}: {c.evidence}" for c in request.checks]
                for c in (c for c in request.checks if not c.ok):
                    reason = await self.answer(Prompt(f"'{c.name}' failed. Type why it is safe to go anyway (Enter), or Esc to stop the day:"))
                    if reason is None:
                        return GateAnswer(False, self.author, tuple(overrides))
                    overrides.append((c.name, reason))
                word = await self.answer(Prompt(f"Type the cluster name ({request.cluster}) and Enter to GO, or Esc to stop the day:", expect=request.cluster))
                return GateAnswer(word is not None, self.author, tuple(overrides))
            self.gate_checks = [f"{request.gate} is due; {request.last}."]
            go = await self.answer(Prompt(f"Fire {request.gate}?", single_key=True))
            return GateAnswer(go is not None, self.author)
        finally:
            self.gate_checks = []

    def started(self, body: asyncio.Task[Any]) -> None:
        self.body = body
        loop = asyncio.get_running_loop()
        fd = sys.stdin.fileno()

        def readable() -> None:
            try:
                data = os.read(fd, 64).decode("utf-8", errors="ignore")
            except OSError:
                data = ""
            if not data:  # the terminal went away
                loop.remove_reader(fd)
                return
            for key in data:
                self.on_key(key)

        loop.add_reader(fd, readable)
        body.add_done_callback(lambda _: loop.remove_reader(fd))


def run_gameday(spec: Experiment, report_dir: Path | None, out: Console, err: Console) -> int:
    from chaos.terminal.drive import conclude, drive, new_run

    holder: dict[str, GameDay] = {}

    async def gate(request: GateRequest) -> GateAnswer:
        return await holder["day"].gate(request)

    run, directory = new_run(spec, report_dir, err, gate=gate)
    if run is None:
        return 3
    run_id = run.run_id
    width, height = out.size
    full_screen = fits(out)
    day = holder["day"] = GameDay(run, out, author_name(), full_screen=full_screen)
    out.print(f"game day: {spec.name} (run {run_id}); journal: {run.journal.path}", highlight=False, soft_wrap=True, markup=False)
    out.print(f"observers: spotchaos watch {directory}   notes: spotchaos note {directory} \"TEXT\"", highlight=False, soft_wrap=True, markup=False)
    with keys_one_at_a_time(sys.stdin.fileno()):
        if full_screen:
            with Live(day.view(), console=out, refresh_per_second=4, screen=True, auto_refresh=False) as live:
                event_loop.run(drive(run, lambda: live.update(day.view(), refresh=True), day.started))
        else:
            out.print(f"(a terminal of {width}x{height} is too small for the screen, {MIN_COLUMNS}x{MIN_LINES}: one line per event)", highlight=False,
                      soft_wrap=True)
            event_loop.run(drive(run, None, day.started, say=lambda line: out.print(line, highlight=False, markup=False, soft_wrap=True)))

    def postmortem(data: ReportData) -> dict[str, Path]:
        path = directory / "postmortem.md"
        path.write_text(draft(data, [name for name in ("timeline.png", "gantt.png") if (directory / name).exists()]))
        return {"postmortem": path}

    return conclude(spec, run, directory, False, out, err, extra=postmortem)
