"""Nodes lost without notice (instance-loss, an AZ power interruption): the checks that measure a
response to a notice are n/a for them, targets-unhealthy-within measures how long the load
balancer kept their healthy targets in service (and fails when none was ever healthy: the ALB
fails open), and the experiment refuses notice checks when no injection sends a notice."""

from __future__ import annotations

import pytest

from chaos.errors import SpecError
from chaos.evidence.milestones import node_milestones
from chaos.spec import parse_experiment
from chaos.verdict.outcome import evaluate, verdict
from tests.records import typed
from tests.unit.test_verdicts import IID, IP, NODE, node, pod, traffic

LOSS = {"name": "loss", "injections": [{"via": "fis", "kind": "instance-loss", "select": {"count": 1}}],
        "hypotheses": [{"check": "targets-unhealthy-within", "max": "30s"}, {"check": "replacement-ready-within", "max": "5m"}]}


def lost_journal(unhealthy_at: float | None, healthy_before: bool = True) -> list[dict]:
    r = [
        {"t": 0.0, "kind": "experiment", "name": "loss", "spec": LOSS},
        node(90.0), pod(90.0, "resnet-a"),
        {"t": 90.0, "kind": "instance", "instance": IID, "state": "running"},
        {"t": 90.0, "kind": "target", "group": "tg", "target": IP, "state": "healthy" if healthy_before else "unhealthy"},
        {"t": 120.0, "kind": "injected", "injection": "lost", "via": "fis", "action": "instance-loss", "instance": IID, "node": NODE,
         "reclaim_t": 120.0, "reclaims": True, "warned": False, "fis_experiment": "EXP1"},
        # FIS terminates when its action starts, two seconds after the harness asked
        {"t": 123.0, "kind": "fis_action", "experiment": "EXP1", "action": "Terminate", "action_id": "aws:ec2:terminate-instances", "started_t": 122.0},
        {"t": 123.0, "kind": "instance", "instance": IID, "state": "terminated"},
        {"t": 150.0, "kind": "instance", "instance": "i-0bbbbbbbbbbbbbbb2", "state": "pending"},
        {"t": 200.0, "kind": "node", "node": "ip-10-0-0-10.ec2.internal", "instance": "i-0bbbbbbbbbbbbbbb2", "ready": True, "unschedulable": False, "deleted": False},
        {"t": 210.0, "kind": "target", "group": "tg", "target": IP, "state": "gone"},
    ]
    if unhealthy_at is not None:
        r.append({"t": unhealthy_at, "kind": "target", "group": "tg", "target": IP, "state": "unhealthy", "reason": "Target.Timeout"})
    r += [traffic(s, 100, 0) for s in range(10)]
    return sorted(r, key=lambda x: x["t"])


def _results(records: list[dict], spec: dict = LOSS, final: bool = True) -> dict[str, object]:
    return {h.name: h for h in evaluate(parse_experiment(spec), typed(records), max(r["t"] for r in records), final=final)}


def test_the_loss_is_timed_from_fis_acting_and_the_targets_from_the_loss():
    (m,) = node_milestones(typed(lost_journal(unhealthy_at=150.0)))
    assert (m.notice, m.warned, m.healthy_at_notice) == (122.0, False, [IP])
    assert m.since_notice("targets_out") == 28.0
    h = _results(lost_journal(unhealthy_at=150.0))["targets-unhealthy-within"]
    assert (h.status, h.value) == ("pass", 28.0)


def test_targets_kept_in_service_too_long_fail():
    h = _results(lost_journal(unhealthy_at=170.0))["targets-unhealthy-within"]
    assert (h.status, h.value) == ("fail", 48.0)


def test_a_target_never_taken_out_is_undecided_then_fails():
    records = [r for r in lost_journal(unhealthy_at=None) if not (r["kind"] == "target" and r["state"] == "gone")]
    early = [r for r in records if r["t"] <= 130.0]
    assert _results(early, final=False)["targets-unhealthy-within"].status == "undecided"
    assert _results(records)["targets-unhealthy-within"].status == "fail"


def test_a_health_check_that_never_passes_fails_open_and_fails_the_check():
    h = _results(lost_journal(unhealthy_at=None, healthy_before=False))["targets-unhealthy-within"]
    assert h.status == "fail"
    assert "fails open" in h.detail


def test_notice_checks_are_not_applicable_to_a_node_lost_without_one():
    spec = {**LOSS, "injections": [{"via": "fis", "kind": "instance-loss", "select": {"count": 1}}, {"via": "fis", "select": {"count": 1}, "at": "1m"}],
            "hypotheses": [{"check": "cordoned-within", "max": "10s"}, {"check": "drained-before-reclaim"}, {"check": "targets-unhealthy-within", "max": "30s"}]}
    results = _results(lost_journal(unhealthy_at=150.0), spec)
    for name in ("cordoned-within", "drained-before-reclaim"):
        (node_result,) = results[name].nodes
        assert node_result.status == "n/a" and "without notice" in node_result.note
    assert verdict(parse_experiment(spec), typed(lost_journal(unhealthy_at=150.0))).status == "passed"


@pytest.mark.parametrize("injection", [
    {"via": "fis", "kind": "instance-loss", "select": {"count": 1}},
    {"via": "fis", "kind": "az-power-interruption", "select": {"az": "us-east-1a"}},
])
def test_an_experiment_that_sends_no_notice_refuses_notice_checks(injection):
    spec = {**LOSS, "injections": [injection], "hypotheses": [{"check": "drained-before-reclaim"}, {"check": "error-rate", "max": 0.01}]}
    with pytest.raises(SpecError, match="drained-before-reclaim measure the response to a notice.*targets-unhealthy-within"):
        parse_experiment(spec)


@pytest.mark.parametrize(("injection", "message"), [
    ({"via": "fis", "kind": "az-power-interruption"}, "needs select.az"),
    ({"via": "fis", "kind": "az-power-interruption", "select": {"az": "us-east-1a", "count": 2}}, "takes every node in select.az"),
    ({"via": "fis", "kind": "az-power-interruption", "select": {"az": "us-east-1a"}, "duration": "30s"}, "at least 1m"),
    ({"via": "metadata", "kind": "instance-loss", "select": {"count": 1}}, "use via fis"),
    ({"via": "fis", "kind": "spot-interruption", "select": {"az": "us-east-1a"}}, "say how many nodes"),
    ({"via": "fis", "select": {"count": 1}, "spot_notice": True}, "option of az-power-interruption"),
])
def test_bad_new_fault_input_names_the_field(injection, message):
    with pytest.raises(SpecError, match=message):
        parse_experiment({**LOSS, "injections": [injection], "hypotheses": [{"check": "error-rate", "max": 0.01}]})
