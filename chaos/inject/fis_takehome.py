"""An experiment's FIS injections as templates to take home (`spotchaos render --fis`): each one
selects its targets by tags and filters, as a template kept in an account does, not by the
instance ids of one run.  The IAM role FIS runs as and the CloudWatch alarms that stop it are
the caller's (parameters in the CloudFormation and Terraform forms).  Pure.

The harness itself resolves targets to ARNs before it starts an experiment (fis_documents.py):
it must know which nodes it took to measure them.  A team running the template from the FIS
console, the CLI or a pipeline lets FIS pick by the same rules:

- the cluster's tag `kubernetes.io/cluster/<name>: owned` (eksctl and the EKS node groups set it
  on instances and groups) and, for select.node_group, the node group's tag (`eks:nodegroup-name`
  on EKS managed node groups; `alpha.eksctl.io/nodegroup-name` for eksctl's self-managed ones);
- filters on the DescribeInstances fields: running instances, select.az, select.instance_type,
  Spot instances for capacity_type SPOT, select.instances as InstanceId;
- the count or the percentage as FIS's selectionMode (COUNT(n), PERCENT(n) rounded up).

An az-power-interruption follows FIS's scenario "AZ Availability: Power Interruption" (its EC2
and Auto Scaling part, as the harness runs it, az_power_interruption.py): Stop-Instances stops the
cluster's instances in the AZ that carry the scenario's tag `AzImpairmentPower: StopInstances`
(EC2 cannot stop a one-time Spot instance, and no filter tells an on-demand instance from a Spot
one, so the on-demand ones to stop are the tagged ones, as the scenario asks); the AZ's Spot
instances are terminated (filter InstanceLifecycle=spot), or with spot_notice sent the Spot
interruption; Pause-ASG-Scaling makes the cluster's groups fail to launch in the AZ.  A part with
nothing to take is skipped (experimentOptions.emptyTargetResolutionMode: skip), so a cluster with
no on-demand node, or no Spot node, in the AZ still runs it.

Not expressible as tags and left out, named in the template's description: select.serving_pods
(which nodes run the service's pods is Kubernetes's to say, not EC2's).  A capacity-error names
its zones: one that takes its group's own, known only at run time, is rendered for the zones
given (`--az`).  Not rendered: via metadata or sqs (no FIS experiment)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chaos.inject.fault import Fault
from chaos.inject.fis_documents import capacity_error_action, iso_duration
from chaos.inject.selection import Selection

MANAGED_NODEGROUP_TAG = "eks:nodegroup-name"
POWER_TAG = {"AzImpairmentPower": "StopInstances"}  # FIS's scenario: the instances its Stop-Instances stops
ROLE_PLACEHOLDER = "arn:aws:iam::123456789012:role/spotchaos-fis"  # documents the shape; the CLI fills the real one


class NotRenderable(ValueError):
    """An injection that has no take-home FIS template (the message says why and what to use)."""


@dataclass(frozen=True)
class TakeHome:
    name: str  # file stem: <experiment>-<injection label>
    template: dict[str, Any]  # CreateExperimentTemplate's input (the CLI's --cli-input-json)


def instance_filters(select: Selection) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"path": "State.Name", "values": ["running"]}]
    for path, value in (("Placement.AvailabilityZone", select.az), ("InstanceType", select.instance_type)):
        if value:
            filters.append({"path": path, "values": [value]})
    if select.instances:
        filters.append({"path": "InstanceId", "values": list(select.instances)})
    return filters


def selection_mode(select: Selection) -> str:
    if select.count is not None:
        return f"COUNT({select.count})"
    if select.percent is not None:
        return f"PERCENT({math.ceil(select.percent)})"
    return "ALL"


def target_tags(cluster: str, select: Selection, nodegroup_tag: str) -> dict[str, str]:
    tags = {f"kubernetes.io/cluster/{cluster}": "owned"}
    if select.node_group:
        tags[nodegroup_tag] = select.node_group
    return tags


def _instances(resource_type: str, cluster: str, select: Selection, nodegroup_tag: str, spot_filter: bool) -> dict[str, Any]:
    filters = instance_filters(select)
    if spot_filter and select.capacity_type == "SPOT":
        filters.append({"path": "InstanceLifecycle", "values": ["spot"]})
    return {"resourceType": resource_type, "resourceTags": target_tags(cluster, select, nodegroup_tag), "filters": filters,
            "selectionMode": selection_mode(select)}


def _parts(inj: Any, cluster: str, nodegroup_tag: str, azs: tuple[str, ...] = ()) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(what it does, targets, actions) of one injection by kind."""
    s = inj.select
    if inj.kind == "spot-interruption":
        return ("Spot interruption", {"SpotInstances": _instances("aws:ec2:spot-instance", cluster, s, nodegroup_tag, False)},
                {"interrupt": {"actionId": "aws:ec2:send-spot-instance-interruptions", "targets": {"SpotInstances": "SpotInstances"},
                               "parameters": {"durationBeforeInterruption": iso_duration(inj.notice)}}})
    if inj.kind == "instance-loss":
        return ("instance loss (terminated without notice)", {"Instances": _instances("aws:ec2:instance", cluster, s, nodegroup_tag, True)},
                {"terminate": {"actionId": "aws:ec2:terminate-instances", "targets": {"Instances": "Instances"}}})
    if inj.kind == "instance-stop":
        return ("instance stop", {"Instances": _instances("aws:ec2:instance", cluster, s, nodegroup_tag, False)},
                {"stop": {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "Instances"},
                          "parameters": {"startInstancesAfterDuration": iso_duration(inj.duration), "completeIfInstancesTerminated": "true"}}})
    if inj.kind == "capacity-error":
        zones = [s.az] if s.az else list(azs)
        if not zones:
            raise NotRenderable("a capacity-error template names its availability zones, and this one takes the group's own, known only "
                                "at run time: set select.az, or give the zones with --az (e.g. --az us-east-1a,us-east-1b)")
        return ("insufficient capacity for the node group's launches", *_launch_errors(cluster, s, nodegroup_tag, zones, inj.duration, inj.percentage, "ice"))
    if inj.kind == "az-power-interruption":
        return _power_interruption(inj, cluster, nodegroup_tag)
    raise NotRenderable(f"{inj.kind} has no take-home template here: it is not an FIS action")


def _launch_errors(cluster: str, s: Selection, nodegroup_tag: str, zones: list[str], duration: float, percentage: int,
                   name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(targets, actions): the cluster's groups (by tags) fail their launches in `zones`."""
    targets, actions = capacity_error_action([], zones, duration, percentage, name)
    (target,) = targets.values()
    target.pop("resourceArns")
    target["resourceTags"] = target_tags(cluster, s, nodegroup_tag)
    return targets, actions


def _power_interruption(inj: Any, cluster: str, nodegroup_tag: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    s = inj.select
    targets: dict[str, Any] = {}
    actions: dict[str, Any] = {}
    if s.capacity_type != "SPOT":
        stop = _instances("aws:ec2:instance", cluster, s, nodegroup_tag, False)
        stop["resourceTags"] |= POWER_TAG
        targets["EC2-Instances"] = stop
        actions["Stop-Instances"] = {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "EC2-Instances"},
                                     "parameters": {"startInstancesAfterDuration": iso_duration(inj.duration), "completeIfInstancesTerminated": "true"}}
    if s.capacity_type != "ON_DEMAND":
        spot = s.model_copy(update={"capacity_type": "SPOT"})
        if inj.spot_notice:
            targets["Spot-Instances"] = _instances("aws:ec2:spot-instance", cluster, spot, nodegroup_tag, False)
            actions["Interrupt-Spot-Instances"] = {"actionId": "aws:ec2:send-spot-instance-interruptions", "targets": {"SpotInstances": "Spot-Instances"},
                                                   "parameters": {"durationBeforeInterruption": iso_duration(inj.notice)}}
        else:
            targets["Spot-Instances"] = _instances("aws:ec2:instance", cluster, spot, nodegroup_tag, True)
            actions["Terminate-Spot-Instances"] = {"actionId": "aws:ec2:terminate-instances", "targets": {"Instances": "Spot-Instances"}}
    more_targets, more_actions = _launch_errors(cluster, s, nodegroup_tag, [s.az], inj.duration, 100, "Pause-ASG-Scaling")
    spot_part = "Spot instances sent the interruption" if inj.spot_notice else "Spot instances terminated"
    what = (f"AZ power interruption in {s.az} (instances tagged AzImpairmentPower=StopInstances stopped for {iso_duration(inj.duration)}, "
            f"{spot_part}, no launches there)")
    return what, targets | more_targets, actions | more_actions


def takehome(experiment: str, inj: Fault, index: int, cluster: str, role_arn: str, alarms: list[str],
             nodegroup_tag: str = MANAGED_NODEGROUP_TAG, azs: tuple[str, ...] = ()) -> TakeHome:
    """The FIS experiment template of injection `index`, its targets by tags; NotRenderable when
    it is not an FIS injection or has no such template."""
    if inj.via != "fis":
        raise NotRenderable(f"via {inj.via} sends no FIS experiment (only via fis injections become FIS templates)")
    what, targets, actions = _parts(inj, cluster, nodegroup_tag, azs)
    label = inj.label(index)
    left_out = " (select.serving_pods is not expressible as tags: every matching node is a candidate)" if inj.select.serving_pods else ""
    template = {
        "description": f"spotchaos {experiment}/{label}: {what} on cluster {cluster}{left_out}"[:512],
        "targets": targets,
        "actions": actions,
        "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": a} for a in alarms] or [{"source": "none"}],
        "roleArn": role_arn,
        "tags": {"spotchaos:experiment": experiment, "spotchaos:injection": label},
    }
    if inj.kind == "az-power-interruption":
        template["experimentOptions"] = {"emptyTargetResolutionMode": "skip"}  # no on-demand (or no Spot) node in the AZ: that part has nothing to do
    return TakeHome(f"{experiment}-{label}", template)
