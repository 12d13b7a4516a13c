"""Spot Instance requests behind an Auto Scaling group's Spot instances, as EC2 shows them through
boto3: each Spot instance carries a SpotInstanceRequestId whose one-time request is active and
fulfilled while it runs, and closed once it is gone, with the status code of why (an interruption
or the user's termination); on-demand instances have none."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.waiting import wait_for
from tests.integration.helpers import node_group, wait_ready_nodes
from tests.integration.spot_helpers import control, instance_of, instance_state

pytestmark = pytest.mark.integration


def _request(ec2: Any, request_id: str) -> dict[str, Any]:
    return ec2.describe_spot_instance_requests(SpotInstanceRequestIds=[request_id])["SpotInstanceRequests"][0]


def test_group_spot_instances_have_their_requests_which_close_when_the_instance_goes(sim: Any) -> None:
    core = sim.kube()[0]
    ec2 = sim.aws("ec2")
    node_group(sim, "spot-requests", ("m5.large",), desired=2)
    node_group(sim, "od-requests", ("m5.large",), desired=1, spot=False)
    spot_nodes = wait_ready_nodes(core, "spot-requests", 2, 60)
    (od_node,) = wait_ready_nodes(core, "od-requests", 1, 60)
    interrupted, terminated = (instance_of(n) for n in spot_nodes)
    requests = {}
    for iid in (interrupted, terminated):
        described = instance_state(sim, iid)
        assert described["InstanceLifecycle"] == "spot"
        request = _request(ec2, described["SpotInstanceRequestId"])
        assert (request["State"], request["Status"]["Code"], request["InstanceId"], request["Type"]) == ("active", "fulfilled", iid, "one-time")
        requests[iid] = request["SpotInstanceRequestId"]
    assert "SpotInstanceRequestId" not in instance_state(sim, instance_of(od_node))

    assert control(sim, f"/v1/instances/{interrupted}/reclaim", {})[0] in (200, 201)
    ec2.terminate_instances(InstanceIds=[terminated])
    wait_for(lambda: all(_request(ec2, r)["State"] == "closed" for r in requests.values()), 30, "both requests to close",
             describe=lambda: [_request(ec2, r)["State"] for r in requests.values()])
    assert _request(ec2, requests[interrupted])["Status"]["Code"] == "instance-terminated-by-service"
    assert _request(ec2, requests[terminated])["Status"]["Code"] == "instance-terminated-by-user"
