"""StopInstances as EC2 answers it, through the AWS CLI: a Spot instance an Auto Scaling group
launched comes from a one-time request, which EC2 will not stop (UnsupportedOperation, and
nothing in the call is stopped); an on-demand instance stops."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.helpers import node_group, wait_ready_nodes
from tests.integration.spot_helpers import instance_of, instance_state
from tests.support.awscli import aws

pytestmark = pytest.mark.integration


def test_a_one_time_spot_instance_cannot_be_stopped_and_an_on_demand_one_can(sim: Any) -> None:
    core = sim.kube()[0]
    node_group(sim, "cli-stop-spot", ("m5.large",), desired=1)
    node_group(sim, "cli-stop-od", ("m5.large",), desired=1, spot=False)
    spot = instance_of(wait_ready_nodes(core, "cli-stop-spot", 1, 60)[0])
    on_demand = instance_of(wait_ready_nodes(core, "cli-stop-od", 1, 60)[0])

    refused = aws(sim, "ec2", "stop-instances", "--instance-ids", on_demand, spot)
    assert refused.returncode != 0
    assert "UnsupportedOperation" in refused.stderr and f"You can't stop the Spot Instance '{spot}'" in refused.stderr, refused.stderr
    assert instance_state(sim, spot)["State"]["Name"] == "running"
    assert instance_state(sim, on_demand)["State"]["Name"] == "running"  # the whole call was refused

    stopped = aws(sim, "ec2", "stop-instances", "--instance-ids", on_demand)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["StoppingInstances"][0]["CurrentState"]["Name"] in ("stopping", "stopped")
