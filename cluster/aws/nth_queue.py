"""NTH's queue-processor wiring as its setup guide has it: an SQS queue that EventBridge (and
SQS) may send to, and one EventBridge rule per event kind NTH acts on, each targeting the queue."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cluster.aws import names
from cluster.aws.owner import owned_by, owner_tag_map, owner_tags

NTH_RULES: dict[str, dict[str, Any]] = {
    "asg-termination": {"source": ["aws.autoscaling"], "detail-type": ["EC2 Instance-terminate Lifecycle Action"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"],
                         "detail": {"service": ["EC2"], "eventTypeCategory": ["scheduledChange"]}},
}
MESSAGE_RETENTION_SECONDS = 300  # a notice older than 5 minutes is past its reclaim


def rule_name(cluster: str, kind: str) -> str:
    return f"{cluster}-nth-{kind}"[:64]


def queue_policy(queue_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
        "Action": "sqs:SendMessage", "Resource": queue_arn}]}


def plan_lines(cluster: str) -> list[str]:
    return [f"sqs CreateQueue {names.nth_queue_name(cluster)} (retention {MESSAGE_RETENTION_SECONDS}s, SendMessage for events/sqs)",
            *(f"events PutRule {rule_name(cluster, k)} + PutTargets -> queue" for k in NTH_RULES)]


def ensure_queue_and_rules(sqs: Any, events: Any, cluster: str, extra_tags: Mapping[str, str] | None = None) -> str:
    """Returns the queue URL; re-running leaves what exists as it is."""
    url = sqs.create_queue(QueueName=names.nth_queue_name(cluster), tags=owner_tag_map(cluster, extra_tags),
                           Attributes={"MessageRetentionPeriod": str(MESSAGE_RETENTION_SECONDS)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(queue_policy(arn))})
    for kind, pattern in NTH_RULES.items():
        name = rule_name(cluster, kind)
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), Tags=owner_tags(cluster, extra_tags))
        events.put_targets(Rule=name, Targets=[{"Id": "nth-queue", "Arn": arn}])
    return str(url)


def delete_queue_and_rules(sqs: Any, events: Any, cluster: str) -> list[str]:
    done = []
    for rule in events.list_rules(NamePrefix=f"{cluster}-nth"[:64]).get("Rules", []):
        if not owned_by(events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags"), cluster):
            continue
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])]
        if ids:
            events.remove_targets(Rule=rule["Name"], Ids=ids)
        events.delete_rule(Name=rule["Name"])
        done.append(f"eventbridge rule {rule['Name']}")
    for url in sqs.list_queues(QueueNamePrefix=names.nth_queue_name(cluster)).get("QueueUrls", []):
        if owned_by(sqs.list_queue_tags(QueueUrl=url).get("Tags"), cluster):
            sqs.delete_queue(QueueUrl=url)
            done.append(f"sqs queue {url.rsplit('/', 1)[-1]}")
    return done
