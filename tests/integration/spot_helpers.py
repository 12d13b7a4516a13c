"""Helpers for the Spot interruption tests: the control API, node and instance lookups."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from cluster.provision import NTH_EVENT_PATTERN
from cluster.waiting import wait_for


def control(sim: Any, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    """Call the simulator's control API (real HTTP)."""
    url = sim.endpoints.extra["control_url"] + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def instance_of(node: Any) -> str:
    return node.spec.provider_id.rsplit("/", 1)[1]


def instance_state(sim: Any, instance_id: str) -> dict[str, Any]:
    return sim.aws("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def wait_instance_state(sim: Any, instance_id: str, state: str, timeout: float = 30) -> dict[str, Any]:
    return wait_for(lambda: (lambda i: i if i["State"]["Name"] == state else None)(instance_state(sim, instance_id)), timeout, f"{instance_id} {state}")


def pods_on(core: Any, ns: str, node: str) -> list[Any]:
    return core.list_namespaced_pod(ns, field_selector=f"spec.nodeName={node}").items


def node_events(core: Any, node: str) -> list[str]:
    return [e.reason for e in core.list_namespaced_event("default", field_selector=f"involvedObject.name={node}").items]


def nth_running(core: Any, ns: str, count: int, timeout: float = 30) -> None:
    def ready() -> bool:
        pods = core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=aws-node-termination-handler").items
        return sum(1 for p in pods if p.status.phase == "Running") >= count

    wait_for(ready, timeout, f"{count} NTH pods running in {ns}")


def nth_queue(sim: Any, name: str) -> str:
    """An SQS queue fed by an EventBridge rule, as NTH's queue-processor setup guide builds it."""
    sqs, events = sim.aws("sqs"), sim.aws("events")
    url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "300"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"{name}-rule", EventPattern=json.dumps(NTH_EVENT_PATTERN))
    events.put_targets(Rule=f"{name}-rule", Targets=[{"Id": "1", "Arn": arn}])
    return url


def tag_managed(sim: Any, asg_name: str) -> None:
    sim.aws("autoscaling").create_or_update_tags(Tags=[{
        "ResourceId": asg_name, "ResourceType": "auto-scaling-group", "Key": "aws-node-termination-handler/managed", "Value": "", "PropagateAtLaunch": True,
    }])
