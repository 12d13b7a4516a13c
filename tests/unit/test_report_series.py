"""The cluster's state over the run as the report draws it: step series of replicas, targets per
state per target group and Ready nodes per group, folded from the journal."""

from __future__ import annotations

from chaos.report.data import build
from chaos.report.plot import gantt_png, timeline_png
from chaos.report.series import cluster_series
from tests.records import typed
from tests.unit.test_verdicts import good_journal


def test_replicas_targets_and_nodes_step_with_the_journal():
    s = cluster_series(typed(good_journal()))
    assert s.replicas_desired == [(90.0, 10)]
    assert s.replicas_ready == [(90.0, 10), (126.5, 9), (152.0, 10)]
    assert s.targets[("tg", "healthy")] == [(90.0, 1), (128.0, 0)]
    assert s.targets[("tg", "draining")] == [(128.0, 1), (150.0, 0)]  # gone: no longer counted
    assert s.nodes[("spot-a", "SPOT")] == [(90.0, 1)]  # cordoned is still Ready
    assert s.nodes[("-", "-")] == [(330.0, 1)]  # the replacement, recorded without its labels


def test_a_node_that_goes_away_leaves_its_groups_count():
    records = [*good_journal(), {"t": 400.0, "kind": "node", "node": "ip-10-0-0-9.ec2.internal", "instance": "i-0aaaaaaaaaaaaaaa1",
                                  "group": "spot-a", "capacity": "SPOT", "ready": False, "deleted": True}]
    assert cluster_series(typed(records)).nodes[("spot-a", "SPOT")] == [(90.0, 1), (400.0, 0)]


def test_the_pictures_are_pngs_and_no_gantt_without_interrupted_nodes():
    data = build(typed(good_journal()))
    assert timeline_png(data)[:4] == b"\x89PNG"
    assert (gantt_png(data) or b"")[:4] == b"\x89PNG"
    quiet = build(typed([r for r in good_journal() if r["kind"] != "injected"]))
    assert gantt_png(quiet) is None
