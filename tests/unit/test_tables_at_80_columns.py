"""Every table the command line draws, at 80 columns: no line wider, and no name or heading
broken across lines (a name cut short ends in an ellipsis; `-o wide` or a wider terminal has it
whole).  history's table: tests/unit/test_machine_output.py; doctor's: tests/unit/test_doctor.py.
`trend`'s: tests/unit/test_trend.py."""

from __future__ import annotations

import re

from rich.console import Console

from chaos.evidence.milestones import MilestoneFold
from chaos.evidence.traffic_fold import TrafficFold
from chaos.gameday.cluster_fold import ClusterFold
from chaos.gameday.screen import Decided, screen
from chaos.load.report import print_summary
from chaos.terminal.live import SHOWN, view
from chaos.terminal.names import short_name
from tests.records import typed
from tests.unit.test_verdicts import NODE, good_journal

WIDTH = 80


def _at_80(renderable: object) -> list[str]:
    console = Console(width=WIDTH, record=True, color_system=None)
    if callable(renderable):
        renderable(console)
    else:
        console.print(renderable)
    lines = console.export_text().splitlines()
    too_wide = [line for line in lines if len(line) > WIDTH]
    assert not too_wide, "\n".join(lines)
    return lines


def _whole(lines: list[str], *words: str) -> None:
    """Each word on one line, or cut short with an ellipsis, never folded onto the next."""
    for word in words:
        assert any(word in line for line in lines) or any(re.search(re.escape(word[: max(3, len(word) // 2)]) + r"\S*…", line) for line in lines), (
            word, "\n".join(lines))


def _folds() -> tuple[ClusterFold, MilestoneFold, TrafficFold]:
    cluster, milestones, traffic = ClusterFold(), MilestoneFold(), TrafficFold()
    for r in typed(good_journal()):
        cluster.add(r)
        milestones.add(r)
        traffic.add(r)
    return cluster, milestones, traffic


def test_the_live_view_at_80_columns() -> None:
    _, milestones, traffic = _folds()
    lines = _at_80(view("corpus-workshop-spot-catalog", "observe-until-decided", 330.0, milestones.milestones(), traffic))
    _whole(lines, short_name(NODE), "corpus-workshop-spot-catalog", "observe-until-decided")
    header = next(line for line in lines if line.startswith("node"))
    assert len(header.split()) == 2 + len(SHOWN), header  # every column's heading, whole


def test_the_game_day_screen_at_80_columns() -> None:
    cluster, milestones, traffic = _folds()
    lines = _at_80(screen("corpus-workshop-spot-catalog", cluster, milestones.milestones(), traffic,
                          [Decided("targets-deregistered-before-reclaim", "pass", "98.0 s")], prompt="Type the cluster name (prod) and Enter to GO"))
    _whole(lines, short_name(NODE), "corpus-workshop-spot-catalog", "targets-deregistered-before-reclaim", "serving/resnet-v1")


def test_the_load_summary_at_80_columns() -> None:
    summary = {"method": "POST", "url": "http://k8s-serving-resnetse-0123456789-1234567890.us-east-1.elb.amazonaws.com/v1/models/resnet:predict",
               "completed": 120000, "intended_rps": 400.0, "achieved_rps": 399.8, "errors": 12, "error_rate": 0.0001,
               "latency_ms": {"p50": 11.2, "p99": 48.7, "max": 212.9}, "outcomes": {"ok": 119988, "timeout": 12}}
    lines = _at_80(lambda console: print_summary(summary, console))
    _whole(lines, "requests", "errors", "p99", "timeout=12")
    assert any("http://k8s-serving" in line for line in lines)

