"""EC2 shows a terminated instance for about an hour, then DescribeInstances no longer returns it
(EC2 API Reference, TerminateInstances); a long-lived simulator forgets them the same way, on a
simulator whose hour is two cluster minutes.  Through the AWS CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cluster.waiting import wait_for
from tests.conftest import start_sim
from tests.support.awscli import aws

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def forgetting(tmp_path_factory: Any) -> Any:
    sim = start_sim(tmp_path_factory.mktemp("instance-expiry"), terminated_instance_ttl=120.0)  # cluster seconds: 6 s real at speed 20
    yield sim
    sim.stop()


def _describe(sim: Any, *args: str) -> Any:
    out = aws(sim, "ec2", "describe-instances", "--output", "json", *args)
    return json.loads(out.stdout) if out.returncode == 0 else out.stderr


def test_a_terminated_instance_is_visible_for_a_while_then_gone(forgetting: Any) -> None:
    sim = forgetting
    image = json.loads(aws(sim, "ec2", "describe-images", "--owners", "amazon", "--output", "json").stdout)["Images"][0]["ImageId"]
    launched = json.loads(aws(sim, "ec2", "run-instances", "--image-id", image, "--instance-type", "m5.large", "--count", "2", "--output", "json").stdout)
    ended, kept = (i["InstanceId"] for i in launched["Instances"])
    assert aws(sim, "ec2", "terminate-instances", "--instance-ids", ended).returncode == 0
    shown = _describe(sim, "--instance-ids", ended)
    assert shown["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"  # still visible just after

    wait_for(lambda: isinstance(_describe(sim, "--instance-ids", ended), str), 30, "the terminated instance forgotten")
    assert "InvalidInstanceID.NotFound" in _describe(sim, "--instance-ids", ended)
    listed = [i["InstanceId"] for r in _describe(sim)["Reservations"] for i in r["Instances"]]
    assert kept in listed and ended not in listed  # the running one stays, in the same reservation
