"""instance-stop, the fault added as one module (chaos/inject/instance_stop.py): its template is
the FIS action users would write; the spec refuses it on Spot nodes with the fix; and its example
experiment, run on a simulator the run starts, stops the add-on node through the simulator's FIS,
sees EC2 stop it, and passes on the group's replacement and untouched serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import SpecError
from chaos.inject.instance_stop import stop_template
from chaos.journal import of
from chaos.journal.records import AsgActivityRecord, InjectedRecord, InstanceRecord, NodeRecord
from chaos.spec import load_experiment, parse_experiment

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "instance-stop.yaml"
SPEC = {"name": "x", "injections": [{"via": "fis", "kind": "instance-stop", "select": {"count": 1}}],
        "hypotheses": [{"check": "replacement-ready-within", "max": "5m"}]}


def test_the_template_stops_running_instances_and_starts_them_after_the_duration():
    arns = [f"arn:aws:ec2:us-east-1:1:instance/i-{n:017x}" for n in range(7)]
    t = stop_template(arns, 300, "arn:role", ["arn:aws:cloudwatch:us-east-1:1:alarm:a"], {"k": "v"})
    assert {a["actionId"] for a in t["actions"].values()} == {"aws:ec2:stop-instances"}
    assert all(a["parameters"] == {"startInstancesAfterDuration": "PT5M", "completeIfInstancesTerminated": "true"} for a in t["actions"].values())
    assert [len(target["resourceArns"]) for target in t["targets"].values()] == [5, 2]  # FIS: at most 5 ARNs a target
    assert all({"path": "State.Name", "values": ["running"]} in target["filters"] for target in t["targets"].values())
    assert t["stopConditions"] == [{"source": "aws:cloudwatch:alarm", "value": "arn:aws:cloudwatch:us-east-1:1:alarm:a"}]


def test_it_takes_on_demand_nodes_and_refuses_spot_with_the_fix():
    (inj,) = parse_experiment(SPEC).injections
    assert inj.select.capacity_type == "ON_DEMAND" and not inj.warns
    spot = {**SPEC, "injections": [{**SPEC["injections"][0], "select": {"count": 1, "capacity_type": "SPOT"}}]}
    with pytest.raises(SpecError, match=r"injections\[0\]: select.capacity_type: EC2 cannot stop a Spot instance.*use ON_DEMAND"):
        parse_experiment(spot)
    with pytest.raises(SpecError, match=r"injections\[0\].duration"):
        parse_experiment({**SPEC, "injections": [{**SPEC["injections"][0], "duration": "30s"}]})
    with pytest.raises(SpecError, match="use via fis"):
        parse_experiment({**SPEC, "injections": [{**SPEC["injections"][0], "via": "metadata"}]})
    # a notice check has nothing to measure: the stop sends none
    with pytest.raises(SpecError, match="cordoned-within measure the response to a notice"):
        parse_experiment({**SPEC, "hypotheses": [{"check": "cordoned-within", "max": "10s"}]})


@pytest.mark.e2e
async def test_the_example_stops_the_add_on_node_and_passes(spot_experiment):
    spec = load_experiment(EXAMPLE)
    outcome = await spot_experiment(EXAMPLE)
    assert outcome.verdict.status == "passed", outcome.verdict.reason
    (injected,) = of(outcome.records, InjectedRecord)
    assert injected.action == "instance-stop" and injected.group == "ng-ondemand" and injected.warned is False
    assert injected.stopped_for == spec.injections[0].duration
    # EC2 stopped it (the simulator's FIS ran aws:ec2:stop-instances): the node went NotReady, and
    # the group, finding the instance stopped, replaced it (the scan may see it stopped or already gone)
    states = [r.state for r in of(outcome.records, InstanceRecord) if r.instance == injected.instance and r.t > injected.t]
    assert states and states[0] in ("stopping", "stopped", "terminated")
    assert any(not r.ready for r in of(outcome.records, NodeRecord) if r.node == injected.node and r.t > injected.t)
    assert any(f"Terminating EC2 instance: {injected.instance}" in (r.description or "") for r in of(outcome.records, AsgActivityRecord))
    (node,) = outcome.report.nodes
    assert node.replacement_ready is not None and node.replacement_group == node.group
    assert outcome.hypotheses["error-rate"].status == "pass"
