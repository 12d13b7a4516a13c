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


def test_a_large_desired_capacity_is_launched_whole_and_its_activities_paged(sim: Any) -> None:
    """SetDesiredCapacity answers at once and the group launches in its own activities, at most 100
    a pass (cluster/sim/aws/autoscaling.py: no one request holds the AWS side for the launch of
    thousands): all 250 arrive, and DescribeScalingActivities pages them 100 at a time with a
    NextToken, which the AWS CLI follows.  A group with no cluster tag: instances only, no nodes."""
    ec2, asg = sim.aws("ec2"), sim.aws("autoscaling")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:3]
    if not subnets:
        vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.90.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
                   for i, z in enumerate("abc")]
    ec2.create_launch_template(LaunchTemplateName="batched", LaunchTemplateData={"ImageId": "ami-0b0a8d8cbf1e0a5f1", "InstanceType": "m5.large"})
    asg.create_auto_scaling_group(AutoScalingGroupName="batched", MinSize=0, MaxSize=300, DesiredCapacity=0, VPCZoneIdentifier=",".join(subnets),
                                  MixedInstancesPolicy={"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": "batched", "Version": "$Latest"},
                                                                           "Overrides": [{"InstanceType": t} for t in ("m5.large", "m5.xlarge", "m5a.large")]}})

    def members() -> int:
        return len(asg.describe_auto_scaling_groups(AutoScalingGroupNames=["batched"])["AutoScalingGroups"][0]["Instances"])

    try:
        asg.set_desired_capacity(AutoScalingGroupName="batched", DesiredCapacity=250)
        wait_for(lambda: members() == 250 or None, 60, "250 instances in the group", describe=members)
        launched = [a for a in _activities(sim, "batched") if a["Description"].startswith("Launching a new EC2 instance: i-")]
        assert len(launched) == 250
        first = asg.describe_scaling_activities(AutoScalingGroupName="batched")
        assert len(first["Activities"]) == 100 and first["NextToken"]
    finally:
        asg.delete_auto_scaling_group(AutoScalingGroupName="batched", ForceDelete=True)
