"""Interruption queues as their setup guides have them: an SQS queue that EventBridge (and SQS)
may send to, and one EventBridge rule per event kind its reader acts on, each targeting the queue.
NTH's queue-processor mode (its README) and Karpenter's interruption queue (the getting-started
CloudFormation: queue named after the cluster, 300 s retention, SQS-managed encryption, five rules)
differ only in names and rules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cluster import resource_names as names
from cluster.aws.owner import owned_by, owner_tag_map, owner_tags

NTH_RULES: dict[str, dict[str, Any]] = {
    "asg-termination": {"source": ["aws.autoscaling"], "detail-type": ["EC2 Instance-terminate Lifecycle Action"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"],
                         "detail": {"service": ["EC2"], "eventTypeCategory": ["scheduledChange"]}},
}
# KPA website/.../getting-started-with-karpenter/cloudformation.yaml: every rule targets the queue
KARPENTER_RULES: dict[str, dict[str, Any]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "capacity-reservation": {"source": ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"]},
}
MESSAGE_RETENTION_SECONDS = 300  # a notice older than 5 minutes is past its reclaim


@dataclass(frozen=True)
class Wiring:
    reader: str  # "nth" | "karpenter": in the rules' names and the target id
    rules: dict[str, dict[str, Any]]

    def queue_name(self, cluster: str) -> str:
        return names.nth_queue_name(cluster) if self.reader == "nth" else names.karpenter_queue_name(cluster)


NTH = Wiring("nth", NTH_RULES)
KARPENTER = Wiring("karpenter", KARPENTER_RULES)


def rule_name(cluster: str, kind: str, wiring: Wiring = NTH) -> str:
    return f"{cluster}-{wiring.reader}-{kind}"[:64]


def queue_policy(queue_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
        "Action": "sqs:SendMessage", "Resource": queue_arn}]}


def plan_lines(cluster: str, wiring: Wiring = NTH) -> list[str]:
    return [f"sqs CreateQueue {wiring.queue_name(cluster)} (retention {MESSAGE_RETENTION_SECONDS}s, SendMessage for events/sqs)",
            *(f"events PutRule {rule_name(cluster, k, wiring)} + PutTargets -> queue" for k in wiring.rules)]


def ensure_queue_and_rules(sqs: Any, events: Any, cluster: str, extra_tags: Mapping[str, str] | None = None, wiring: Wiring = NTH,
                           queue: str | None = None) -> str:
    """Returns the queue URL; re-running leaves what exists as it is.  `queue`: the name the
    reader's settings give (a twin's), in place of the one spotchaos names after the cluster."""
    url = sqs.create_queue(QueueName=queue or wiring.queue_name(cluster), tags=owner_tag_map(cluster, extra_tags),
                           Attributes={"MessageRetentionPeriod": str(MESSAGE_RETENTION_SECONDS), "SqsManagedSseEnabled": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(queue_policy(arn))})
    for kind, pattern in wiring.rules.items():
        name = rule_name(cluster, kind, wiring)
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), Tags=owner_tags(cluster, extra_tags))
        events.put_targets(Rule=name, Targets=[{"Id": f"{wiring.reader}-queue", "Arn": arn}])
    return str(url)


def delete_queue_and_rules(sqs: Any, events: Any, cluster: str) -> list[str]:
    return _delete(sqs, events, cluster, NTH) + _delete(sqs, events, cluster, KARPENTER)


def _delete(sqs: Any, events: Any, cluster: str, wiring: Wiring) -> list[str]:
    done = []
    for rule in events.list_rules(NamePrefix=f"{cluster}-{wiring.reader}"[:64]).get("Rules", []):
        if not owned_by(events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags"), cluster):
            continue
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])]
        if ids:
            events.remove_targets(Rule=rule["Name"], Ids=ids)
        events.delete_rule(Name=rule["Name"])
        done.append(f"eventbridge rule {rule['Name']}")
    for url in sqs.list_queues(QueueNamePrefix=wiring.queue_name(cluster)).get("QueueUrls", []):
        if url.rsplit("/", 1)[-1] == wiring.queue_name(cluster) and owned_by(sqs.list_queue_tags(QueueUrl=url).get("Tags"), cluster):
            sqs.delete_queue(QueueUrl=url)
            done.append(f"sqs queue {url.rsplit('/', 1)[-1]}")
    return done
