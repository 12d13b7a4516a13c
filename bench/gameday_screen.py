"""What the game-day screen costs the run: the driver's screen is redrawn four times a second in
the run's own process, so its CPU per second is CPU the run's observers and load cannot use.
Prints, at 10,000 and 100,000 journal records, the CPU of one redraw and per second at four
redraws a second, for the game-day screen (folds: chaos/gameday/cluster_fold.py and the run's
milestone and traffic folds) beside `spotchaos run`'s small live view, and what the folds cost per
new record.  The screen is rendered to an in-memory terminal of 160x50, as rich does on a tty.

    .venv/bin/python bench/gameday_screen.py
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from journal_checks import SPEC, journal  # noqa: E402
from rich.console import Console  # noqa: E402

from chaos.evidence.milestones import MilestoneFold  # noqa: E402
from chaos.evidence.traffic_fold import TrafficFold  # noqa: E402
from chaos.gameday.cluster_fold import ClusterFold  # noqa: E402
from chaos.gameday.screen import Decided, screen  # noqa: E402
from chaos.journal import parse_record  # noqa: E402
from chaos.spec import Scope  # noqa: E402
from chaos.terminal.live import view  # noqa: E402
from chaos.verdict.outcome import UNDECIDED, evaluate  # noqa: E402

REDRAWS_PER_SECOND = 4


def cpu_ms(fn, repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat * 1000


def measure(n: int) -> None:
    raw = journal(n)
    for line in raw:  # the bench journal's records lack the fields the screen does not need; give targets a group
        line.setdefault("group", "tg-resnet")
    records = [parse_record(line) for line in raw]
    cluster, nodes, traffic = ClusterFold(), MilestoneFold(), TrafficFold()
    fold_start = time.process_time()
    for r in records:
        cluster.add(r)
        nodes.add(r)
        traffic.add(r)
    per_record_us = (time.process_time() - fold_start) / len(records) * 1e6
    console = Console(file=io.StringIO(), width=160, height=50, force_terminal=True, color_system="truecolor")

    def game_day() -> None:
        results = evaluate(SPEC, [], cluster.now, final=False, scopes=frozenset({Scope.NODE}), nodes=nodes.milestones())
        decided = [Decided(h.name, str(h.status), h.measured) for h in results if h.status != UNDECIDED]
        console.print(screen("bench", cluster, nodes.milestones(), traffic, decided))
        console.file.seek(0)
        console.file.truncate()

    def small_view() -> None:
        console.print(view("bench", "observe", cluster.now, nodes.milestones(), traffic))
        console.file.seek(0)
        console.file.truncate()

    for name, fn in (("gameday screen", game_day), ("run's live view", small_view)):
        per_redraw = cpu_ms(fn, 40)
        print(f"{n:>8,}  {name:<16} {per_redraw:10.2f} ms {per_redraw * REDRAWS_PER_SECOND / 10:11.2f} %   {per_record_us:8.1f} us")


def main() -> None:
    print(f"{'records':>8}  {'view':<16} {'per redraw':>13} {'CPU at 4/s':>13}   {'folds/record':>12}")
    for n in (10_000, 100_000):
        measure(n)


if __name__ == "__main__":
    main()
