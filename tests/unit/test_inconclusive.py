"""Inconclusive, not failed: a breach measured only while the run was starved (its own health
records say the harness's or the simulator's loop lagged, or the generator sent late) is judged
inconclusive, naming what was starved; a breach that still shows on the healthy seconds is a
failure.  Journals written by hand, as in test_verdicts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from chaos.report.write import write_reports
from chaos.spec import parse_experiment
from chaos.verdict.outcome import verdict
from tests.records import typed
from tests.unit.test_verdicts import SPEC, good_journal, node, traffic


def health(start: float, end: float, harness_ms: float = 5.0, sim_ms: float = 5.0, speed: float = 10.0) -> dict:
    return {"t": end, "kind": "health", "start_t": start, "end_t": end, "harness_lag_ms": harness_ms, "sim_lag_ms": sim_ms, "speed": speed}


def _healthy(records: list[dict]) -> list[dict]:
    return records + [health(t, t + 10.0) for t in range(0, 400, 10)]


def _with_errors(records: list[dict], seconds: range, errors: int = 40) -> list[dict]:
    out = [r for r in records if not (r["kind"] == "traffic" and r["second"] in seconds)]
    return sorted(out + [traffic(s, 100, errors) for s in seconds], key=lambda r: r["t"])


def _starve(records: list[dict], start: float, end: float, **lag: float) -> list[dict]:
    out = [r for r in records if not (r["kind"] == "health" and r["end_t"] > start and r["start_t"] < end)]
    return sorted(out + [health(t, t + 10.0, **lag) for t in range(int(start), int(end), 10)], key=lambda r: r["t"])


def _verdict(records: list[dict]):
    return verdict(parse_experiment(SPEC, "test"), sorted(typed(records), key=lambda r: r.t))


def test_errors_only_while_the_simulator_lagged_are_inconclusive_naming_it():
    records = _with_errors(_healthy(good_journal()), range(10, 13))  # 120 errors of 2,500: over the 1% bound
    assert _verdict(typed(records)).status == "failed"  # measured while healthy: a failure
    starved = _starve(records, 190.0, 240.0, sim_ms=1800.0)  # seconds 10-12 start at t=200..220
    v = _verdict(typed(starved))
    assert v.status == "inconclusive" and v.exit_code == 5, v.reason
    rate = next(h for h in v.hypotheses if h.check == "error-rate")
    assert rate.status == "inconclusive" and "the simulator's event loop lagged 1,800 ms" in rate.detail, rate.detail
    assert "without them it holds" in rate.detail


def test_a_breach_that_shows_on_the_healthy_seconds_too_is_a_failure():
    records = _with_errors(_healthy(good_journal()), range(3, 20), errors=30)  # errors all along
    starved = _starve(records, 190.0, 240.0, sim_ms=1800.0)  # a starved moment among them
    v = _verdict(typed(starved))
    assert v.status == "failed", v.reason
    assert next(h for h in v.hypotheses if h.check == "error-rate").status == "fail"


def test_a_late_cordon_while_the_harness_lagged_is_inconclusive_and_without_lag_a_failure():
    late = [r for r in _healthy(good_journal()) if not (r["kind"] == "node" and r.get("unschedulable"))]
    late += [node(150.0, nth_taint=True, unschedulable=True)]  # cordoned 30 s after the notice (bound 10 s)
    assert _verdict(typed(late)).status == "failed"
    starved = _starve(late, 120.0, 130.0, harness_ms=2500.0)  # the harness watched the node 25 cluster seconds late
    v = _verdict(typed(starved))
    cordon = next(h for h in v.hypotheses if h.check == "cordoned-within")
    assert cordon.status == "inconclusive", cordon
    assert "the harness's event loop lagged 2,500 ms" in cordon.detail and "25.0 cluster seconds" in cordon.detail, cordon.detail


def test_a_cordon_the_watch_delivered_late_is_dated_by_the_clusters_own_stamp():
    # the cordon reached the harness 30 s after the notice (its loop lagged), but the API server's
    # managedFields say it was written within the second after t=122: 3 s after the notice
    notice = next(r["t"] for r in good_journal() if r["kind"] == "injected")
    late = [r for r in _healthy(good_journal()) if not (r["kind"] == "node" and r.get("unschedulable"))]
    late += [node(150.0, nth_taint=True, unschedulable=True, cordon_by=notice + 3.0, taint_by=notice + 3.0)]
    v = _verdict(late)
    cordon = next(h for h in v.hypotheses if h.check == "cordoned-within")
    assert cordon.status == "pass" and cordon.measured == "3.0s", cordon
    from chaos.evidence.milestones import node_milestones
    (m,) = node_milestones(typed(sorted(late, key=lambda r: r["t"])))
    assert (m.cordon, m.cordon_seen) == (notice + 3.0, 150.0)
    # a stamp later than the delivery (a clock ahead of ours) never moves the figure later
    stamped_late = [dict(r, cordon_by=170.0) if r["kind"] == "node" and r.get("unschedulable") else r for r in late]
    (m,) = node_milestones(typed(sorted(stamped_late, key=lambda r: r["t"])))
    assert m.cordon == 150.0


def test_a_generator_that_sent_late_makes_its_seconds_untrusted():
    records = _with_errors(_healthy(good_journal()), range(10, 13))
    late = [dict(r, late=90, late_max_ms=4000.0) if r["kind"] == "traffic" and r["second"] in range(10, 13) else r for r in records]
    v = _verdict(typed(late))
    assert v.status == "inconclusive", v.reason
    assert "the load generator sent 90 of 100 requests of second 10 up to 4,000 ms late" in v.reason, v.reason


def test_reports_show_inconclusive_and_junit_skips_it(tmp_path):
    import json

    records = _starve(_with_errors(_healthy(good_journal()), range(10, 13)), 190.0, 240.0, sim_ms=1800.0)
    path = tmp_path / "journal.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in sorted(records, key=lambda r: r["t"])))
    data, paths = write_reports(path)
    assert data.verdict.status == "aborted"  # no verdict record: a killed run, judged as cut short
    v = _verdict(typed(records))
    path.write_text(path.read_text() + json.dumps({"t": 400.0, "kind": "verdict", **v.as_dict()}) + "\n")
    data, paths = write_reports(path)
    assert data.verdict.status == "inconclusive"
    markdown = paths["markdown"].read_text()
    assert "INCONCLUSIVE" in markdown and "## Health of the run" in markdown and "simulator's 1,800 ms" in markdown, markdown
    assert json.loads(paths["json"].read_text())["health"]["summary"]["starved_seconds"] == 5
    suite = ET.fromstring(paths["junit"].read_text())
    assert int(suite.get("skipped")) >= 1 and suite.get("failures") == "0"
    assert suite.find("testcase/skipped") is not None
    assert json.loads(paths["json"].read_text())["verdict"]["exit_code"] == 5


def test_a_simulator_waiting_for_the_cpu_makes_its_seconds_untrusted():
    records = _with_errors(_healthy(good_journal()), range(10, 13))
    waiting = [dict(r, sim_cpu_wait=0.6) if r["kind"] == "health" and 190.0 <= r["start_t"] < 240.0 else r for r in records]
    v = _verdict(typed(waiting))
    assert v.status == "inconclusive", v.reason
    assert "the simulator waited for a CPU 60% of the second" in v.reason, v.reason


def test_a_loop_starved_after_the_errors_were_answered_leaves_them_a_failure():
    """Seconds 10-12 (t=200-230) got their errors back within 50 ms; the simulator waited for a CPU
    from t=260 on.  Nothing was in flight then: the breach was measured on a healthy machine (the
    known-bad corpus-workshop-spot-catalog came out inconclusive this way, its starved second 130
    cluster seconds after its errors).  Answers that took 6 s were still in flight: inconclusive."""
    records = _with_errors(_healthy(good_journal()), range(10, 13))
    waiting = [dict(r, sim_cpu_wait=0.6) if r["kind"] == "health" and 260.0 <= r["start_t"] < 290.0 else r for r in records]
    v = _verdict(typed(waiting))
    assert v.status == "failed", v.reason
    assert next(h for h in v.hypotheses if h.check == "error-rate").status == "fail"
    slow = [dict(r, max_ms=6000.0) if r["kind"] == "traffic" and r["second"] in range(10, 13) else r for r in waiting]
    v = _verdict(typed(slow))
    assert v.status == "inconclusive", v.reason
    assert "the simulator waited for a CPU 60% of the second at t=260s" in v.reason, v.reason


def test_a_node_figure_far_past_its_bound_fails_whatever_the_lag():
    """No lag explains a cordon 110 s past its 10 s bound: the harness was 25 cluster seconds late at worst."""
    late = [r for r in _healthy(good_journal()) if not (r["kind"] == "node" and r.get("unschedulable"))]
    late += [node(240.0, nth_taint=True, unschedulable=True)]
    starved = _starve(late, 120.0, 240.0, harness_ms=2500.0)
    cordon = next(h for h in _verdict(typed(starved)).hypotheses if h.check == "cordoned-within")
    assert cordon.status == "fail", cordon


def test_a_stop_condition_says_when_the_host_was_starved_meanwhile():
    from chaos.evidence.starvation import health_of, starved_lately

    seconds = health_of(typed([health(t, t + 10.0) for t in range(0, 100, 10)] + [health(100.0, 110.0, sim_ms=900.0)]))
    assert starved_lately(seconds, 50.0) == "the simulator's event loop lagged 900 ms at t=100s while it sent and served requests: the host was starved"
    assert starved_lately(seconds, 111.0) is None
