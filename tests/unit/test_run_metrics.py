"""A run's metrics (chaos/report/metrics.py) and the Grafana dashboard that charts them: every
metric and label a panel asks for is one a run gives (the dashboard cannot drift from the names)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from chaos.delivery.metrics import metric_data
from chaos.report.data import build
from chaos.report.metrics import HELP, MILESTONES, openmetrics, samples
from tests.records import typed
from tests.unit.test_verdicts import SPEC, good_journal

ROOT = Path(__file__).resolve().parents[2]


def _samples():
    """A finished run's: the good journal, started at a wall time, with the verdict it reaches."""
    records = good_journal()
    records[0] = {**records[0], "wall": "2026-11-01T10:00:00.000Z"}
    judged = build(typed(records)).verdict
    return samples(build(typed([*records, {"t": records[-1]["t"], "kind": "verdict", **judged.as_dict(), "status": "passed"}])))


def test_a_runs_samples_name_the_experiment_each_hypothesis_and_the_slowest_nodes_milestones() -> None:
    found = _samples()
    families = {f.name: f for f in text_string_to_metric_families(openmetrics(found))}
    assert set(families) <= set(HELP) and "spotchaos_run_passed" in families
    (passed,) = families["spotchaos_run_passed"].samples
    assert passed.value == 1.0 and passed.labels["experiment"] == SPEC["name"]
    held = {s.labels["hypothesis"]: s.value for s in families["spotchaos_hypothesis_held"].samples}
    assert held and set(held.values()) == {1.0}
    cordon = next(s.value for s in families["spotchaos_node_milestone_seconds"].samples if s.labels["milestone"] == "cordon")
    assert cordon == 5.0  # the good journal's node cordoned 5 s after its notice


def test_cloudwatch_gets_one_datum_a_sample_with_its_labels_as_dimensions() -> None:
    found = _samples()
    data = metric_data(found, 1_700_000_000.0)
    assert any(s.name == "spotchaos_run_timestamp_seconds" for s in found)
    assert len(data) == len(found) - 1  # the start is the data's timestamp, not a metric
    held = next(d for d in data if d["MetricName"] == "spotchaos_hypothesis_held")
    assert {"Experiment", "Target", "Hypothesis", "Check"} <= {dim["Name"] for dim in held["Dimensions"]}  # no cluster named: no empty dimension
    assert all(d["Timestamp"].timestamp() == 1_700_000_000.0 for d in data)


def test_the_grafana_dashboard_asks_only_for_what_a_run_gives() -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana" / "spotchaos.json").read_text())
    labels = {k for s in _samples() for k in s.labels} | {"job"}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert exprs
    for expr in exprs:
        names = re.findall(r"\b(spotchaos_[a-z0-9_]+)", expr)
        assert names and set(names) <= set(HELP), expr
        used = set(re.findall(r"([a-z_]+)\s*=~?\s*\"", expr)) | set(re.findall(r"label_values\([^,]+,\s*([a-z_]+)\)", expr))
        assert used <= labels, (expr, used - labels)
        for wanted in re.findall(r'milestone=~"([^"]+)"', expr):
            assert set(wanted.split("|")) <= set(MILESTONES), expr
