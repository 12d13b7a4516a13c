"""A deleted Auto Scaling group's activities go with it: a group made again under the same name
(the next run's, on a long-lived simulator) shows only its own in DescribeScalingActivities, as
AWS does without IncludeDeletedGroups.  Before, it showed the last group's too, and the Cluster
Autoscaler read an old failed launch as the new group's.  Through the AWS CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cluster.waiting import wait_for
from tests.integration.helpers import node_group
from tests.support.awscli import aws

pytestmark = pytest.mark.integration


def _activities(sim: Any, group: str) -> list[dict[str, Any]]:
    out = aws(sim, "autoscaling", "describe-scaling-activities", "--auto-scaling-group-name", group, "--output", "json")
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout)["Activities"])


def test_a_group_made_again_does_not_show_the_deleted_ones_activities(sim: Any) -> None:
    group = node_group(sim, "activities-again", ("m5.large",), desired=2)
    first = wait_for(lambda: (lambda a: a if len(a) >= 2 else None)(_activities(sim, group)), 30, "the first group's launches")
    assert aws(sim, "autoscaling", "delete-auto-scaling-group", "--auto-scaling-group-name", group, "--force-delete").returncode == 0
    sim.aws("ec2").delete_launch_template(LaunchTemplateName=group.removeprefix("eks-"))
    assert node_group(sim, "activities-again", ("m5.large",), desired=1) == group
    again = wait_for(lambda: _activities(sim, group) or None, 30, "the new group's launch")
    assert {a["ActivityId"] for a in again}.isdisjoint({a["ActivityId"] for a in first})
