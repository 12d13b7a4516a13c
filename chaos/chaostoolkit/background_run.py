"""A spotchaos run in a process of its own, for Chaos Toolkit's `inject` action and its rollback.

It is started detached, in a session of its own: it outlives the Chaos Toolkit process, and at
its end it rolls its faults back itself, as every run does.  It is followed through its journal
until its injection is out; it is stopped with the Ctrl-C (SIGINT) that makes a run roll back;
what a run killed outright left behind, `spotchaos cleanup` undoes from its undo log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from chaos.gameday.follow import Follower
from chaos.identity import Owner
from chaos.journal import Record
from chaos.journal.records import ExperimentRecord, InjectedRecord, VerdictRecord
from cluster.waiting import WaitTimeout, wait_for

LOG_NAME = "run.log"  # the run's own output (JSON log lines), beside its journal

_children: dict[int, subprocess.Popen[bytes]] = {}  # runs this process started: reaped here, so a finished one is not a zombie that looks alive


def start(path: Path, injection: int | str, directory: Path, target: str | None, speed: float | str | None, history: str | None) -> int:
    """`spotchaos run PATH --injection …` in a process of its own, writing into `directory`; its pid."""
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "chaos.cli", "run", str(path), "--injection", str(injection), "--report-dir", str(directory),
               "--no-live", "--log-format", "json"]
    for option, value in (("--target", target), ("--speed", speed), ("--history", history)):
        if value is not None:
            command += [option, str(value)]
    with (directory / LOG_NAME).open("ab") as log:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    _children[child.pid] = child
    return child.pid


def running(owner: Owner) -> bool:
    """Whether the run's process still runs (one this process started is reaped when it ends)."""
    child = _children.get(owner.pid)
    if child is not None:
        return child.poll() is None
    return owner.alive() is True


def interrupt(owner: Owner) -> bool:
    """Ctrl-C to the run: it stops injecting, rolls back, and writes its verdict.  False if it was gone."""
    if not running(owner):
        return False
    try:
        os.kill(owner.pid, signal.SIGINT)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Progress:
    """What a run's journal has said so far, read a poll at a time."""
    journal: Path
    owner: Owner | None = None
    injected: list[InjectedRecord] = field(default_factory=list)
    verdict: VerdictRecord | None = None
    _follower: Follower | None = None

    def poll(self) -> None:
        if self._follower is None:
            if not self.journal.is_file():
                return
            self._follower = Follower(self.journal)
        for record in self._follower.poll():
            self._take(record)

    def _take(self, record: Record) -> None:
        if isinstance(record, ExperimentRecord) and self.owner is None:
            self.owner = Owner.from_dict(record.owner)
        elif isinstance(record, InjectedRecord):
            self.injected.append(record)
        elif isinstance(record, VerdictRecord):
            self.verdict = record


def wait_for_injection(progress: Progress, pid: int, timeout: float) -> None:
    """Until the run's first injected records are in its journal, its verdict is (it ended before
    injecting), or its process is gone; WaitTimeout after `timeout` seconds."""
    child = _children.get(pid)

    def out() -> bool:
        progress.poll()
        return bool(progress.injected or progress.verdict or (child is not None and child.poll() is not None))

    wait_for(out, timeout, "the run's injection", interval=0.2)
    progress.poll()  # the whole of the wave, when it was written in one go


def wait_for_end(owner: Owner, timeout: float) -> bool:
    """Until the run's process has ended (its rollback done and its reports written); False at the deadline."""
    try:
        wait_for(lambda: not running(owner), timeout, "the run's end", interval=0.2)
    except WaitTimeout:
        return False
    return True
