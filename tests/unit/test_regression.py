"""Regressions before failures: a measurement that moved toward its bound beyond the tolerance
and beyond the baseline's spread is flagged while it still passes; noise, a move away from the
bound and too short a baseline are not."""

from __future__ import annotations

from chaos.history.regression import regressions


def _rows(margin: float, p99: float) -> list[dict]:
    return [{"name": "drained-before-reclaim", "bound": ">= 0s before the reclaim", "value": margin, "status": "pass"},
            {"name": "p99-latency", "bound": "<= 2000 ms", "value": p99, "status": "pass"},
            {"name": "cordoned-within", "bound": "n/a", "value": 1.0, "status": "pass"}]


BASELINE = [_rows(m, p) for m, p in ((75, 100), (72, 110), (78, 95), (74, 105), (76, 100))]


def test_a_margin_that_shrank_toward_its_bound_is_a_regression_while_it_still_passes():
    (reg,) = regressions(_rows(12, 104), BASELINE)
    assert (reg.name, reg.baseline, reg.latest, reg.runs) == ("drained-before-reclaim", 75, 12, 5)
    assert "was 75 (median of the last 5 passing runs" in reg.line()


def test_a_latency_that_grew_toward_its_bound_is_one_too():
    assert [r.name for r in regressions(_rows(75, 1500), BASELINE)] == ["p99-latency"]


def test_noise_a_better_value_and_a_short_baseline_are_not():
    assert regressions(_rows(70, 120), BASELINE) == []  # within the spread
    assert regressions(_rows(140, 20), BASELINE) == []  # away from the bounds
    assert regressions(_rows(12, 104), BASELINE[:2]) == []  # two runs say nothing yet


def test_after_a_run_it_is_recorded_compared_with_its_baseline_and_the_report_says_so(tmp_path, store_url):
    import json

    from chaos.history.rows import run_rows
    from chaos.history.store import open_store, record, record_and_compare, runs
    from chaos.journal import read_journal
    from chaos.report.data import build
    from tests.unit.test_verdicts import good_journal

    url = store_url
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    records = good_journal()
    records[0] |= {"run_id": "today", "wall": "2026-11-27T02:00:00Z"}
    (run_dir / "journal.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    data = build(read_journal(run_dir / "journal.jsonl"))
    today = run_rows(data, str(run_dir))
    engine = open_store(url)
    for day, margin in ((20, 150.0), (21, 148.0), (22, 152.0), (23, 151.0)):  # the margin used to be twice today's
        hyps = [{**h, "run_id": f"day-{day}", "value": margin if h["name"] == "drained-before-reclaim" else h["value"]} for h in today.hypotheses]
        nodes = [{**m, "run_id": f"day-{day}", "seconds": m["seconds"] / 3 if m["milestone"] == "drained" else m["seconds"]} for m in today.milestones]
        record(engine, type(today)({**today.run, "run_id": f"day-{day}", "started": f"2026-11-{day}T02:00:00Z", "verdict": "passed"}, hyps, nodes))
    report = run_dir / "report.md"
    report.write_text("# report\n")
    problem, regressed = record_and_compare(data, run_dir, url, report)
    assert problem is None and [r.name for r in regressed] == ["drained-before-reclaim", "milestone drained"]  # drained three times later
    assert "## Compared with the last 4 passing runs" in report.read_text() and "REGRESSED drained-before-reclaim" in report.read_text()
    assert "today" in {r["run_id"] for r in runs(engine)}


def test_node_milestones_regress_when_the_slowest_node_is_later_than_its_baseline():
    from chaos.history.regression import milestone_regressions

    def run(drained: float, cordon: float = 3.0, reclaimed: float = 120.0) -> list[dict]:
        return [{"node": "a", "milestone": "drained", "seconds": drained}, {"node": "b", "milestone": "drained", "seconds": drained - 5},
                {"node": "a", "milestone": "cordon", "seconds": cordon}, {"node": "a", "milestone": "reclaimed", "seconds": reclaimed}]

    past = [run(40.0), run(42.0), run(39.0), run(41.0)]
    (slower,) = milestone_regressions(run(75.0, reclaimed=30.0), past)  # the reclaim time is the fault's: never a regression
    assert slower.name == "milestone drained" and slower.baseline == 40.5 and slower.latest == 75.0 and slower.runs == 4
    assert milestone_regressions(run(50.0), past) == []  # within half the baseline
    assert milestone_regressions(run(40.0, cordon=4.5), [run(40.0, cordon=0.2)] * 4) == []  # under the observers' resolution
    assert milestone_regressions(run(49.0), [run(40.0)] * 4) == []
    assert milestone_regressions(run(75.0), past[:2]) == []  # too few runs to say
    noisy = [run(20.0), run(60.0), run(25.0), run(55.0)]
    assert milestone_regressions(run(75.0), noisy) == []  # within three times the spread


def test_a_value_the_baseline_itself_reached_is_not_a_regression():
    from chaos.history.regression import regressions

    def rows(value: float) -> list[dict]:
        return [{"name": "cordoned-within", "check": "cordoned-within", "status": "pass", "value": value, "bound": "<= 10s after the notice"}]

    steady = [rows(v) for v in (3.5, 3.6, 3.7, 3.6, 3.5, 3.7)]
    assert [r.name for r in regressions(rows(7.5), steady)] == ["cordoned-within"]  # past half the headroom and past every run
    with_an_outlier = [*steady, rows(7.8)]
    assert regressions(rows(7.5), with_an_outlier) == []  # the baseline has been there before
