"""`spotchaos watch RUN_DIR`: the game-day screen, read-only, for the observers, from a journal
another process is writing (locally, on a shared file system, or a copy synced from S3).  It
follows the file, keeps the same folds the run keeps, and ends with the run's verdict."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.console import Console
from rich.live import Live

from chaos.errors import SpecError
from chaos.evidence.milestones import MilestoneFold
from chaos.evidence.traffic_fold import TrafficFold
from chaos.gameday.cluster_fold import ClusterFold
from chaos.gameday.follow import POLL_SECONDS, Follower
from chaos.gameday.screen import Decided, fits, print_event, screen
from chaos.identity import Owner
from chaos.journal import JournalError, Record, journal_file, read_journal
from chaos.journal.records import ExperimentRecord
from chaos.spec import Scope, parse_experiment
from chaos.verdict.outcome import UNDECIDED, Outcome, evaluate


def watch(run_dir: Path, console: Console, stop: threading.Event | None = None) -> int:
    """Until the verdict (or `stop`); the verdict's exit code, 0 when stopped before it."""
    path = journal_file(run_dir)
    head = read_journal(path)[0]
    try:
        spec = parse_experiment(head.spec if isinstance(head, ExperimentRecord) else None, "journal", recorded=True)
    except SpecError as exc:
        raise JournalError(f"{path}: the journal's experiment record is not a valid experiment: {exc}") from None
    stop = stop or threading.Event()
    follower = Follower(path)
    fold, milestones, traffic = ClusterFold(), MilestoneFold(), TrafficFold()
    full_screen = fits(console)
    owner = Owner.from_dict(head.owner if isinstance(head, ExperimentRecord) else None)

    def feed(records: list[Record]) -> bool:
        """Whether there was anything new: a run whose process is gone and that writes nothing more
        will never write its verdict."""
        for r in records:
            fold.add(r)
            milestones.add(r)
            traffic.add(r)
            if not full_screen:
                print_event(console, r)
        return bool(records)

    def over() -> bool:
        return fold.verdict is not None or stop.is_set()

    def orphaned(fresh: bool) -> bool:
        return not fresh and owner is not None and owner.alive() is False and not feed(follower.poll())

    def view() -> object:
        results = evaluate(spec, [], fold.now, final=False, scopes=frozenset({Scope.NODE}), nodes=milestones.milestones())
        decided = [Decided(h.name, str(h.status), h.measured) for h in results if h.status != UNDECIDED]
        return screen(spec.name, fold, milestones.milestones(), traffic, decided, read_only=True)

    gone = False
    if full_screen:
        with Live(console=console, refresh_per_second=4, screen=True, auto_refresh=False) as live:
            while not over() and not gone:
                gone = orphaned(feed(follower.poll()))
                live.update(view(), refresh=True)  # type: ignore[arg-type]
                stop.wait(0 if gone else POLL_SECONDS)
    else:
        while not over() and not gone:
            gone = orphaned(feed(follower.poll()))
            stop.wait(0 if gone else POLL_SECONDS)
    if fold.verdict is None and gone and owner is not None:
        console.print(f"the run's process (pid {owner.pid}) is gone and wrote no verdict: `spotchaos report {run_dir}` judges what it recorded, "
                      f"`spotchaos cleanup {run_dir}` undoes what it left", highlight=False, markup=False, soft_wrap=True)
        return Outcome.ABORTED.exit_code
    if fold.verdict is None:
        return 0
    console.print(f"verdict: {fold.verdict.status} - {fold.verdict.reason}", highlight=False, markup=False, soft_wrap=True)
    return Outcome(str(fold.verdict.status)).exit_code
