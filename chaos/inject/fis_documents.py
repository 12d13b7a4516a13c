"""The documents faults send to AWS, built without calling it: FIS experiment templates (Spot
interruptions, capacity errors, instance stops and terminations, in targets of at most FIS's five
ARNs) and the EventBridge events an SQS queue receives.  Pure."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

MAX_ARNS_PER_TARGET = 5  # FIS's limit on resourceArns in one target


def iso_duration(seconds: float) -> str:
    whole = max(1, round(seconds))
    minutes, secs = divmod(whole, 60)
    return "PT" + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs or not minutes else "")


def fis_template(description: str, targets: dict[str, Any], actions: dict[str, Any], role_arn: str, alarms: list[str], tags: dict[str, str]) -> dict[str, Any]:
    """An experiment template: the alarms as its stop conditions (FIS wants `none` when there are none)."""
    return {"description": description, "targets": targets, "actions": actions, "roleArn": role_arn,
            "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": a} for a in alarms] or [{"source": "none"}], "tags": tags}


def instance_batches(instance_arns: list[str], name: str) -> list[tuple[str, list[str]]]:
    """Instance ARNs in targets of at most MAX_ARNS_PER_TARGET: [(target name, ARNs)]."""
    return [(f"{name}{i // MAX_ARNS_PER_TARGET + 1}", instance_arns[i: i + MAX_ARNS_PER_TARGET]) for i in range(0, len(instance_arns), MAX_ARNS_PER_TARGET)]


def spot_actions(instance_arns: list[str], notice: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """(targets, actions) that send each instance FIS's Spot interruption with `notice` before the reclaim."""
    targets, actions = {}, {}
    for n, (name, arns) in enumerate(instance_batches(instance_arns, "SpotInstances"), start=1):
        targets[name] = {"resourceType": "aws:ec2:spot-instance", "resourceArns": arns, "selectionMode": "ALL"}
        actions[f"interrupt{n}"] = {"actionId": "aws:ec2:send-spot-instance-interruptions",
                                    "parameters": {"durationBeforeInterruption": iso_duration(notice)}, "targets": {"SpotInstances": name}}
    return targets, actions


def spot_template(instance_arns: list[str], notice: float, role_arn: str, alarms: list[str], tags: dict[str, str]) -> dict[str, Any]:
    targets, actions = spot_actions(instance_arns, notice)
    return fis_template("spotchaos: Spot interruption", targets, actions, role_arn, alarms, tags)


def capacity_error_action(asg_arns: list[str], azs: list[str], duration: float, percentage: int, name: str = "ice") -> tuple[dict[str, Any], dict[str, Any]]:
    """(targets, actions): launches of the groups fail with InsufficientInstanceCapacity in `azs`."""
    target = f"{name}-groups"
    return ({target: {"resourceType": "aws:ec2:autoscaling-group", "resourceArns": asg_arns, "selectionMode": "ALL"}},
            {name: {"actionId": "aws:ec2:asg-insufficient-instance-capacity-error", "targets": {"AutoScalingGroups": target},
                    "parameters": {"availabilityZoneIdentifiers": ",".join(azs), "duration": iso_duration(duration), "percentage": str(percentage)}}})


def launch_error_template(role_arn_target: str, azs: list[str], duration: float, percentage: int, role_arn: str, alarms: list[str],
                          tags: dict[str, str]) -> dict[str, Any]:
    """InsufficientInstanceCapacity on the launches (RunInstances, CreateFleet) one IAM role makes:
    aws:ec2:api-insufficient-instance-capacity-error, for launchers outside Auto Scaling (Karpenter)."""
    targets = {"launcher-roles": {"resourceType": "aws:iam:role", "resourceArns": [role_arn_target], "selectionMode": "ALL"}}
    actions = {"api-ice": {"actionId": "aws:ec2:api-insufficient-instance-capacity-error", "targets": {"Roles": "launcher-roles"},
                           "parameters": {"availabilityZoneIdentifiers": ",".join(azs), "duration": iso_duration(duration), "percentage": str(percentage)}}}
    return fis_template("spotchaos: insufficient capacity for a launcher", targets, actions, role_arn, alarms, tags)


def capacity_error_template(asg_arn: str, azs: list[str], duration: float, percentage: int, role_arn: str, alarms: list[str], tags: dict[str, str]) -> dict[str, Any]:
    targets, actions = capacity_error_action([asg_arn], azs, duration, percentage)
    return fis_template("spotchaos: insufficient capacity", targets, actions, role_arn, alarms, tags)


def spot_warning_event(instance_id: str, account: str, region: str, time: str) -> dict[str, Any]:
    """EventBridge's "EC2 Spot Instance Interruption Warning", as delivered to an SQS target."""
    return {"version": "0", "id": str(uuid4()), "detail-type": "EC2 Spot Instance Interruption Warning", "source": "aws.ec2",
            "account": account, "time": time, "region": region, "resources": [f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
            "detail": {"instance-id": instance_id, "instance-action": "terminate"}}


def rebalance_event(instance_id: str, account: str, region: str, time: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid4()), "detail-type": "EC2 Instance Rebalance Recommendation", "source": "aws.ec2",
            "account": account, "time": time, "region": region, "resources": [f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
            "detail": {"instance-id": instance_id}}
