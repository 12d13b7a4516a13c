"""The injector registry: every (via, kind) an experiment may name has exactly one injector, each
describes itself for the plan and plans from the selection alone; an unknown pair names the valid
ones.  (Firing is exercised end to end by the experiments and tests/e2e.)"""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from chaos.errors import SpecError
from chaos.inject import FAULT_TYPES, INJECTORS, injector_for
from chaos.inject.az_power_interruption import AzPowerInterruption
from chaos.inject.fault import Fault
from chaos.inject.selection import Candidate
from chaos.inject.spot_interruption import SpotInterruption


def _valid_pairs():
    vias = get_args(Fault.model_fields["via"].annotation)
    selections = ({"count": 1, "node_group": "g", "az": "us-east-1a"}, {"node_group": "g", "az": "us-east-1a"})
    for via in vias:
        for fault in FAULT_TYPES:
            kind = get_args(fault.model_fields["kind"].annotation)[0]
            for select in selections:
                try:
                    yield fault(via=via, kind=kind, select=select)
                    break
                except ValidationError:
                    continue


def test_every_injection_an_experiment_may_name_has_an_injector():
    pairs = {(i.via, i.kind) for i in _valid_pairs()}
    assert pairs == set(INJECTORS)
    # Spot and on-demand nodes: each fault takes the kind its selection names (a stop takes on-demand ones)
    nodes = [Candidate(f"n{i}", f"i-{i:017x}", "g", "us-east-1a", "m5.xlarge", ("SPOT", "ON_DEMAND")[i % 2], 1) for i in range(6)]
    for inj in _valid_pairs():
        injector = injector_for(inj)
        assert injector.describe(inj)
        chosen = injector.choose(inj, nodes, set(), "seed", "injections[0]")
        entry = injector.plan(inj, 0, chosen)
        assert entry["injection"] == "injection-1" and entry["via"] == inj.via and entry["kind"] == inj.kind
        # capacity errors act on a node group, everything else on the nodes it chose
        assert ("first_wave" in entry) == (inj.kind != "capacity-error")
        assert bool(chosen) == (inj.kind != "capacity-error")


def test_an_unknown_pair_names_the_valid_ones():
    bogus = SpotInterruption.model_construct(via="carrier-pigeon", kind="spot-interruption")
    with pytest.raises(SpecError, match="spot-interruption via fis"):
        injector_for(bogus)


def test_a_power_interruption_takes_every_node_in_its_az_and_builds_the_scenario():
    from chaos.inject.az_power_interruption import (
        FisAzPowerInterruption,
        power_interruption_template,
    )

    nodes = [Candidate(f"n{i}", f"i-{i:017x}", "g", f"us-east-1{'ab'[i % 2]}", "m5.xlarge", "SPOT" if i < 4 else "ON_DEMAND") for i in range(6)]
    inj = AzPowerInterruption(via="fis", kind="az-power-interruption", select={"az": "us-east-1a"}, duration="10m")
    chosen = FisAzPowerInterruption.choose(inj, nodes, {nodes[2].instance}, "seed", "injections[0]")
    assert [c.node for c in chosen] == ["n0", "n4"]  # Spot and on-demand alike, minus what an earlier injection took
    groups = [f"arn:aws:autoscaling:us-east-1:1:autoScalingGroup:x:autoScalingGroupName/g{i}" for i in range(7)]
    t = power_interruption_template(["arn:od"], ["arn:spot"], groups, inj, "arn:role", [], {"k": "v"})
    by_action: dict[str, list[str]] = {}
    for a in t["actions"].values():
        by_action.setdefault(a["actionId"], []).append(a)
    (stop,) = by_action["aws:ec2:stop-instances"]
    assert stop["parameters"] == {"startInstancesAfterDuration": "PT10M", "completeIfInstancesTerminated": "true"}
    assert {"path": "Placement.AvailabilityZone", "values": ["us-east-1a"]} in t["targets"][stop["targets"]["Instances"]]["filters"]
    assert len(by_action["aws:ec2:terminate-instances"]) == 1 and "aws:ec2:send-spot-instance-interruptions" not in by_action
    ice = by_action["aws:ec2:asg-insufficient-instance-capacity-error"]
    assert [len(t["targets"][a["targets"]["AutoScalingGroups"]]["resourceArns"]) for a in ice] == [5, 2]  # FIS: 5 groups per action
    notice = power_interruption_template(["arn:od"], ["arn:spot"], groups[:1], inj.model_copy(update={"spot_notice": True}), "arn:role", [], {})
    assert {a["actionId"] for a in notice["actions"].values()} >= {"aws:ec2:send-spot-instance-interruptions", "aws:ec2:stop-instances"}


def test_a_power_interruption_in_an_empty_az_says_where_the_nodes_are():
    from chaos.errors import InjectionError
    from chaos.inject.az_power_interruption import FisAzPowerInterruption

    nodes = [Candidate("n0", "i-00000000000000000", "g", "us-east-1b", "m5.xlarge", "SPOT")]
    inj = AzPowerInterruption(via="fis", kind="az-power-interruption", select={"az": "us-east-1z"})
    with pytest.raises(InjectionError, match=r"no Ready node .* in us-east-1z.*us-east-1b"):
        FisAzPowerInterruption.choose(inj, nodes, set(), "seed", "injections[0]")
