"""The checks the Spot stacks of today need, over journals written by hand (test_verdicts'
timeline): a replacement Ready before the reclaim the notice announced, and one termination
handler per notice (NTH's taint and Karpenter's both on a node is two handlers of one event).
Karpenter's nodes are read as the node records of the rest: its disrupted taint is its cordon."""

from __future__ import annotations

from chaos.evidence.milestones import node_milestones
from chaos.kube.watches import node_record, nodeclaim_record
from chaos.spec import parse_experiment
from chaos.verdict.outcome import evaluate
from tests.records import typed
from tests.unit.test_verdicts import IID, NODE, good_journal, node

SPEC = {"name": "unit", "injections": [{"via": "metadata"}],
        "hypotheses": [{"check": "replacement-ready-before-reclaim", "min_margin": "10s"}, {"check": "one-termination-handler"}]}


def _results(records: list[dict], final: bool = True) -> dict[str, tuple[str, str, str]]:
    spec = parse_experiment(SPEC)
    now = max(r["t"] for r in records)
    return {h.check: (h.status, h.measured, h.detail) for h in evaluate(spec, typed(records), now, final)}


def _with_replacement_ready_at(t: float) -> list[dict]:
    records = [r for r in good_journal() if not (r["kind"] == "node" and r["node"] == "ip-10-0-0-10.ec2.internal")]
    records.append({"t": t, "kind": "node", "node": "ip-10-0-0-10.ec2.internal", "instance": "i-0bbbbbbbbbbbbbbb2", "ready": True, "unschedulable": False, "deleted": False})
    return sorted(records, key=lambda r: r["t"])


def test_a_replacement_ready_before_the_announced_reclaim_passes_with_its_margin() -> None:
    # the notice at 120 s announces the reclaim at 240 s; the replacement is Ready at 200 s
    status, measured, _ = _results(_with_replacement_ready_at(200.0))["replacement-ready-before-reclaim"]
    assert status == "pass" and measured == "40.0s"


def test_a_replacement_ready_after_the_reclaim_fails() -> None:
    status, _, detail = _results(_with_replacement_ready_at(330.0))["replacement-ready-before-reclaim"]
    assert status == "fail" and "after the reclaim" in detail
    # inside the margin fails too
    assert _results(_with_replacement_ready_at(235.0))["replacement-ready-before-reclaim"][0] == "fail"


def test_no_replacement_stays_undecided_until_the_reclaim_is_near() -> None:
    records = [r for r in good_journal() if r["t"] < 200.0]  # now: 190 s, the reclaim announced for 240 s
    status, _, _ = _results(records, final=False)["replacement-ready-before-reclaim"]
    assert status == "undecided"


def test_one_handler_passes_and_two_fail_naming_both() -> None:
    status, measured, _ = _results(good_journal())["one-termination-handler"]
    assert status == "pass" and measured == "aws-node-termination-handler"
    both = sorted([*good_journal(), node(124.5, nth_taint=True, karpenter_taint=True)], key=lambda r: r["t"])
    status, measured, detail = _results(both)["one-termination-handler"]
    assert status == "fail" and measured == "aws-node-termination-handler, karpenter"
    assert "handled by aws-node-termination-handler and karpenter" in detail


def test_karpenters_disrupted_taint_is_the_nodes_taint_and_cordon() -> None:
    records = [r for r in good_journal() if not (r["kind"] == "node" and r["node"] == NODE and r["t"] > 120)]
    records = sorted([*records, node(123.0, karpenter_taint=True)], key=lambda r: r["t"])
    (m,) = node_milestones(typed(records))
    assert m.taint == 123.0 and m.cordon == 123.0 and m.handlers == ["karpenter"]


def _karpenter_node(taints: list[dict]) -> dict:
    return {"metadata": {"name": NODE, "labels": {"karpenter.sh/nodepool": "serving-spot", "karpenter.sh/capacity-type": "spot",
                                                  "topology.kubernetes.io/zone": "us-east-1a", "node.kubernetes.io/instance-type": "m5.2xlarge"}},
            "spec": {"providerID": f"aws:///us-east-1a/{IID}", "taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def test_a_karpenter_node_is_recorded_with_its_pool_and_capacity_type() -> None:
    _, record = node_record(_karpenter_node([{"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}]), False)
    assert record.group == "serving-spot" and record.capacity == "SPOT" and record.karpenter_taint and not record.nth_taint


def test_a_nodeclaim_is_recorded_with_its_conditions() -> None:
    claim = {"metadata": {"name": "serving-spot-abcde", "deletionTimestamp": "2026-11-27T10:00:00Z",
                          "labels": {"karpenter.sh/nodepool": "serving-spot", "karpenter.sh/capacity-type": "spot", "node.kubernetes.io/instance-type": "c5.2xlarge"}},
             "status": {"providerID": f"aws:///us-east-1a/{IID}", "nodeName": NODE,
                        "conditions": [{"type": "Launched", "status": "True"}, {"type": "Registered", "status": "True"}, {"type": "Initialized", "status": "False"}]}}
    key, record = nodeclaim_record(claim, False)
    assert key == "serving-spot-abcde"
    assert record.fields() == {"nodeclaim": "serving-spot-abcde", "nodepool": "serving-spot", "instance": IID, "node": NODE, "type": "c5.2xlarge", "capacity": "SPOT",
                      "launched": True, "registered": True, "initialized": False, "drained": False, "deleting": True, "deleted": False}


def test_a_replacement_karpenter_launched_is_named_by_its_nodeclaim_and_launched_when_the_claim_was_created() -> None:
    claim = {"kind": "nodeclaim", "nodeclaim": "serving-spot-xyz12", "nodepool": "serving-spot", "launched": False, "deleting": False, "deleted": False}
    records = sorted([*good_journal(), {"t": 247.0, **claim, "instance": None},
                      {"t": 247.5, **claim, "instance": "i-0bbbbbbbbbbbbbbb2", "launched": True}], key=lambda r: r["t"])
    (m,) = node_milestones(typed(records))
    assert m.replacement_instance == "i-0bbbbbbbbbbbbbbb2" and m.replacement_nodeclaim == "serving-spot-xyz12"
    assert m.replacement_requested == 247.0  # the claim, before the EC2 poller saw the instance at 250 s
