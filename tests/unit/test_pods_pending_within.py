"""The `pods-pending-within` check, added as one module (chaos/checks/pods_pending_within.py) and
one registry line: how long pods waited for room after the first injection, from the pod records
of a journal written by hand (as in test_verdicts)."""

from __future__ import annotations

from pathlib import Path

from chaos.spec import CHECKS, load_experiment, parse_experiment
from chaos.verdict.outcome import evaluate, verdict
from tests.records import typed
from tests.unit.test_verdicts import SPEC, good_journal, pod

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "pods-pending-within.yaml"


def _spec(max_wait: str):
    return parse_experiment({**SPEC, "hypotheses": [{"check": "pods-pending-within", "max": max_wait}]}, "test")


def _with_a_wait(pending_at: float, running_at: float | None, **kw) -> list[dict]:
    waits = [pod(pending_at, "resnet-b", node=None, ip=None, phase="Pending", ready=False, **kw)]
    if running_at is not None:
        waits.append(pod(running_at, "resnet-b", phase="Running", **kw))
    return sorted(good_journal() + waits, key=lambda r: r["t"])


def test_a_pod_that_waited_within_the_bound_passes_and_one_that_waited_longer_fails_naming_it():
    records = typed(_with_a_wait(pending_at=126.0, running_at=156.0))  # Pending 30 s after the eviction
    assert {h.check: h.status for h in verdict(_spec("60s"), records).hypotheses} == {"pods-pending-within": "pass"}
    v = verdict(_spec("20s"), records)
    (h,) = v.hypotheses
    assert v.status == "failed" and h.status == "fail" and h.value == 30.0 and "serving/resnet-b Pending for 30.0s" in h.detail


def test_a_pod_still_pending_is_undecided_within_the_bound_and_fails_once_past_it():
    records = typed(_with_a_wait(pending_at=126.0, running_at=None))
    (early,) = evaluate(_spec("60s"), records, now=150.0, final=False)
    assert early.status == "undecided" and early.value == 24.0
    (late,) = evaluate(_spec("60s"), records, now=200.0, final=False)
    assert late.status == "fail" and "still Pending after 74.0s" in late.detail


def test_pods_pending_before_the_injection_and_daemonset_pods_do_not_count():
    before = typed(_with_a_wait(pending_at=95.0, running_at=200.0))  # pending before the notice at t=120
    daemon = typed(_with_a_wait(pending_at=126.0, running_at=300.0, owner_kind="DaemonSet"))
    for records in (before, daemon):
        (h,) = verdict(_spec("10s"), records).hypotheses
        assert h.status == "pass" and h.measured == "no pod Pending"


def test_the_check_is_in_the_spec_and_its_example_experiment_loads():
    assert "pods-pending-within" in CHECKS
    example = load_experiment(EXAMPLE)
    assert [h.check for h in example.hypotheses][0] == "pods-pending-within" and example.hypotheses[0].max == 90.0
