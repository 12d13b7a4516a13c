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

Not expressible as tags and left out, named in the template's description: select.serving_pods
(which nodes run the service's pods is Kubernetes's to say, not EC2's).  Not rendered: an
az-power-interruption (use FIS's "AZ Availability: Power Interruption" scenario, which tags
what it takes) and via metadata or sqs (no FIS experiment)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chaos.inject.fault import Fault
from chaos.inject.fis_documents import capacity_error_action, iso_duration
from chaos.inject.selection import Selection

MANAGED_NODEGROUP_TAG = "eks:nodegroup-name"
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


def _parts(inj: Any, cluster: str, nodegroup_tag: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
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
        if not s.az:
            raise NotRenderable("a capacity-error template names its availability zones, and this one takes the group's own, known only "
                                "at run time: set select.az (one template per zone)")
        targets, actions = capacity_error_action([], [s.az], inj.duration, inj.percentage, "ice")
        (target,) = targets.values()
        target.pop("resourceArns")
        target["resourceTags"] = target_tags(cluster, s, nodegroup_tag)
        return ("insufficient capacity for the node group's launches", targets, actions)
    raise NotRenderable(f"{inj.kind} has no take-home template here: "
                        + ("use FIS's \"AZ Availability: Power Interruption\" scenario from the FIS console's scenario library"
                           if inj.kind == "az-power-interruption" else "it is not an FIS action"))


def takehome(experiment: str, inj: Fault, index: int, cluster: str, role_arn: str, alarms: list[str],
             nodegroup_tag: str = MANAGED_NODEGROUP_TAG) -> TakeHome:
    """The FIS experiment template of injection `index`, its targets by tags; NotRenderable when
    it is not an FIS injection or has no such template."""
    if inj.via != "fis":
        raise NotRenderable(f"via {inj.via} sends no FIS experiment (only via fis injections become FIS templates)")
    what, targets, actions = _parts(inj, cluster, nodegroup_tag)
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
    return TakeHome(f"{experiment}-{label}", template)
