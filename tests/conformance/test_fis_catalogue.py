"""FIS's catalogue through the AWS CLI: list-actions, get-action, list-target-resource-types and
get-target-resource-type answer at once (moto routes them but has no answer: awscli used to
retry a 500 four times), describe every action the simulator runs with its parameters and
targets, and an action FIS does not have is ResourceNotFoundException."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.awscli import aws

pytestmark = pytest.mark.integration


def test_the_fis_catalogue_lists_and_describes_what_runs(sim: Any) -> None:
    listed = aws(sim, "fis", "list-actions")
    assert listed.returncode == 0, listed.stderr
    actions = {a["id"]: a for a in json.loads(listed.stdout)["actions"]}
    assert {"aws:ec2:send-spot-instance-interruptions", "aws:ec2:stop-instances", "aws:ec2:asg-insufficient-instance-capacity-error", "aws:fis:wait"} <= set(actions)
    assert actions["aws:ec2:send-spot-instance-interruptions"]["targets"] == {"SpotInstances": {"resourceType": "aws:ec2:spot-instance"}}

    got = aws(sim, "fis", "get-action", "--id", "aws:ec2:stop-instances")
    assert got.returncode == 0, got.stderr
    action = json.loads(got.stdout)["action"]
    assert action["parameters"]["startInstancesAfterDuration"]["required"] is False
    assert action["targets"] == {"Instances": {"resourceType": "aws:ec2:instance"}}
    assert action["arn"].endswith(":action/aws:ec2:stop-instances")

    missing = aws(sim, "fis", "get-action", "--id", "aws:ec2:reboot-everything")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr, missing.stderr

    types = aws(sim, "fis", "list-target-resource-types")
    assert types.returncode == 0, types.stderr
    assert {"aws:ec2:instance", "aws:ec2:spot-instance", "aws:ec2:autoscaling-group", "aws:iam:role"} <= {t["resourceType"] for t in json.loads(types.stdout)["targetResourceTypes"]}
    one = aws(sim, "fis", "get-target-resource-type", "--resource-type", "aws:ec2:spot-instance")
    assert one.returncode == 0 and json.loads(one.stdout)["targetResourceType"]["resourceType"] == "aws:ec2:spot-instance", one.stderr
