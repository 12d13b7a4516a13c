"""An experiment's trend over its recorded runs: values against the bound, pass rate, and a
hypothesis that passed and failed on the same experiment, profile and version is flaky (one that
failed only after the experiment changed is not)."""

from __future__ import annotations

import base64
import re

from typer.testing import CliRunner

from chaos.cli import app
from chaos.history.rows import RunRows
from chaos.history.store import open_store, record
from chaos.history.trend import bound_value

runner = CliRunner()


def _run(n: int, margin: float, status: str, content: str = "c1") -> RunRows:
    run_id = f"nightly-{n}"
    run = {"run_id": run_id, "experiment": "nightly", "content_hash": content, "profile": "hardened", "target": "local", "region": "us-east-1",
           "spotchaos_version": "0.1.0", "started": f"2026-11-{n:02d}T02:00:00Z", "duration_s": 400.0, "verdict": "passed" if status == "pass" else "failed",
           "exit_code": 0 if status == "pass" else 1, "reason": "", "complete": True, "requests": 1000, "errors": 0, "error_rate": 0.0,
           "p50_ms": 20.0, "p99_ms": 90.0, "max_ms": 120.0, "run_dir": f"/runs/{n}"}
    hyps = [{"run_id": run_id, "name": "drained-before-reclaim", "check": "drained-before-reclaim", "status": status, "value": margin,
             "bound": ">= 30s before the reclaim", "measured": f"{margin}s"},
            {"run_id": run_id, "name": "error-rate", "check": "error-rate", "status": "pass", "value": 0.001, "bound": "<= 0.5%", "measured": "0.1%"}]
    return RunRows(run, hyps, [])


def test_trend_reports_values_pass_rates_and_flaky_hypotheses(tmp_path, store_url):
    url = store_url
    engine = open_store(url)
    for n, margin, status in ((1, 75.0, "pass"), (2, 60.0, "pass"), (3, 12.0, "fail"), (4, 70.0, "pass")):
        record(engine, _run(n, margin, status))
    record(engine, _run(5, 5.0, "fail", content="c2"))  # the experiment changed: not evidence of flakiness
    result = runner.invoke(app, ["trend", "nightly", "--html", str(tmp_path / "t.html"), "--markdown", str(tmp_path / "t.md"), "--history", url])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "t.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| drained-before-reclaim"))
    assert "| 60% |" in row and "fail (5)" in row and "yes: profile hardened, spotchaos 0.1.0, experiment c1" in row, row
    assert "| error-rate | <= 0.5% | 100% | pass (0.001) | no |" in md
    page = (tmp_path / "t.html").read_text()
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(pngs) == 2 and all(base64.b64decode(p).startswith(b"\x89PNG") for p in pngs)
    assert "/runs/3" in page


def test_bounds_read_in_the_unit_values_are_measured_in():
    assert bound_value("<= 10s after the notice") == 10 and bound_value(">= 80% of desired") == 0.8
    assert bound_value("<= 2000 ms") == 2000 and bound_value("<= 0.5%") == 0.005 and bound_value("n/a") is None


def test_an_experiment_with_no_runs_is_one_line(tmp_path):
    result = runner.invoke(app, ["trend", "never", "--history", f"sqlite:///{tmp_path / 'h.sqlite'}"])
    assert result.exit_code == 3 and "no runs of never" in result.output


def test_node_milestones_trend_as_the_slowest_node_per_run(tmp_path, store_url):
    url = store_url
    engine = open_store(url)
    for n, drained in ((1, (40.0, 55.0)), (2, (42.0, 44.0)), (3, (90.0, 20.0))):
        rows = _run(n, 60.0, "pass")
        miles = [{"run_id": rows.run["run_id"], "node": f"n{i}", "instance": f"i-{i}", "milestone": "drained", "seconds": s} for i, s in enumerate(drained)]
        record(engine, RunRows(rows.run, rows.hypotheses, miles))
    result = runner.invoke(app, ["trend", "nightly", "--markdown", str(tmp_path / "t.md"), "--html", str(tmp_path / "t.html"), "--history", url])
    assert result.exit_code == 0, result.output
    assert "| drained | 55 | 90 |" in (tmp_path / "t.md").read_text()  # per run the slowest node: 55, 44, 90
    assert "<h2>Node milestones</h2>" in (tmp_path / "t.html").read_text()


def test_the_time_axis_says_the_time_when_every_run_is_on_one_day():
    from chaos.history.trend_page import tick_label

    one_day = ["2026-11-27T10:00:00Z", "2026-11-27T10:35:00Z"]
    assert [tick_label(s, one_day) for s in one_day] == ["10:00", "10:35"]
    nightly = ["2026-11-26T03:00:00Z", "2026-11-27T03:00:00Z"]
    assert [tick_label(s, nightly) for s in nightly] == ["2026-11-26", "2026-11-27"]


def test_the_trend_table_reads_at_80_columns_and_wide_has_the_bound_and_where_it_was_flaky(store_url):
    engine = open_store(store_url)
    for n, margin, status in ((1, 75.0, "pass"), (2, 12.0, "fail"), (3, 70.0, "pass")):
        rows = _run(n, margin, status)
        long = dict(rows.hypotheses[0], name="targets-deregistered-before-reclaim-az", check="targets-deregistered-before-reclaim",
                    bound=">= 30s before the reclaim, with the deregistration delay")
        miles = [{"run_id": rows.run["run_id"], "node": "n1", "instance": "i-1", "milestone": "drained", "seconds": 40.0 + n}]
        record(engine, RunRows(rows.run, [*rows.hypotheses, long], miles))
    table = runner.invoke(app, ["trend", "nightly", "--history", store_url], env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert all(len(line) <= 80 for line in lines), table.output
    assert lines[0] == "nightly: 3 runs" and lines[1].split() == ["HYPOTHESIS", "PASS", "RATE", "LATEST", "FLAKY"], table.output  # no bound: too wide
    assert any(line.split() == ["targets-deregistered-before-reclaim-az", "67%", "pass", "(70)", "yes"] for line in lines), table.output
    assert any(line.split() == ["drained", "42", "43"] for line in lines), table.output  # median and latest of the slowest node
    wide = runner.invoke(app, ["trend", "nightly", "--history", store_url, "-o", "wide"], env={"COLUMNS": "80"})
    assert ">= 30s before the reclaim, with the deregistration delay" in wide.output
    assert "profile hardened, spotchaos 0.1.0, experiment c1" in wide.output  # where the flaky one passed and failed
