"""The EC2 events EventBridge carries for Spot, with their exact JSON, and their delivery to
the targets of matching rules on the default bus (moto's rules and SQS queues)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from cluster.sim.aws.moto_server import ACCOUNT_ID, backend

log = structlog.get_logger("sim.eventbridge")

SPOT_WARNING = "EC2 Spot Instance Interruption Warning"
REBALANCE = "EC2 Instance Rebalance Recommendation"
STATE_CHANGE = "EC2 Instance State-change Notification"


def instance_arn(region: str, instance_id: str, account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"


def envelope(detail_type: str, detail: dict[str, Any], *, region: str, time: float, resources: list[str], source: str = "aws.ec2") -> dict[str, Any]:
    """An event as EventBridge hands it to targets; `time` is a Unix timestamp (rendered by the target)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": time,
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def spot_warning(region: str, az: str, instance_id: str, action: str, time: float) -> dict[str, Any]:
    """The Spot warning names the instance by an ARN with its AZ and no account, as EC2 sends it
    (aws-node-termination-handler's test events keep that shape)."""
    return envelope(SPOT_WARNING, {"instance-id": instance_id, "instance-action": action}, region=region, time=time,
                    resources=[f"arn:aws:ec2:{az or region}:instance/{instance_id}"])


def rebalance_recommendation(region: str, instance_id: str, time: float) -> dict[str, Any]:
    return envelope(REBALANCE, {"instance-id": instance_id}, region=region, time=time, resources=[instance_arn(region, instance_id)])


def state_change(region: str, instance_id: str, state: str, time: float) -> dict[str, Any]:
    return envelope(STATE_CHANGE, {"instance-id": instance_id, "state": state}, region=region, time=time,
                    resources=[instance_arn(region, instance_id)])


def rendered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as targets receive it: `time` as RFC 3339 seconds."""
    return {**event, "time": datetime.fromtimestamp(int(event["time"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _send(region: str, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = target["Arn"]
    parts = arn.split(":")
    if parts[2] == "sqs":
        params = {"group_id": (target.get("SqsParameters") or {}).get("MessageGroupId")} if arn.endswith(".fifo") else {}
        backend("sqs", parts[3]).send_message(queue_name=parts[5], message_body=json.dumps(rendered(event)), **params)
    else:  # logs, archives, other buses: moto's own delivery
        log.info("eventbridge_target_not_simulated", target=arn)


class Ec2Events:
    """EC2's events of one simulator: delivered to the targets of the default bus's rules, and to
    the AWS services that consume them themselves, not through a rule (EKS's managed node groups),
    which subscribe to this simulator's events only."""

    def __init__(self) -> None:
        self.consumers: list[Callable[[dict[str, Any]], None]] = []

    def subscribe(self, consume: Callable[[dict[str, Any]], None]) -> None:
        """`consume(event)` for every event delivered, under the moto lock: it must only schedule work."""
        self.consumers.append(consume)

    def unsubscribe(self, consume: Callable[[dict[str, Any]], None]) -> None:
        if consume in self.consumers:
            self.consumers.remove(consume)

    def deliver(self, region: str, event: dict[str, Any]) -> int:
        """Send `event` to the targets of every enabled rule on the default bus whose pattern
        matches (the caller holds the moto lock), then to the subscribers.  Returns how many rules
        matched."""
        events = backend("events", region)
        bus = events.describe_event_bus("default")
        matched = 0
        for rule in list(bus.rules.values()):
            if getattr(rule, "state", "ENABLED") != "ENABLED" or not rule.event_pattern.get_pattern():
                continue  # disabled, or a scheduled rule without a pattern
            if not rule.event_pattern.matches_event(event):
                continue
            matched += 1
            for target in rule.targets:
                try:
                    _send(region, target, event)
                except Exception:
                    log.exception("eventbridge_delivery_failed", rule=rule.name, target=target.get("Arn"))
        for consume in list(self.consumers):
            try:
                consume(event)
            except Exception:
                log.exception("eventbridge_consumer_failed", detail_type=event["detail-type"])
        log.info("eventbridge_event", detail_type=event["detail-type"], instance=event["detail"].get("instance-id"), rules=matched)
        return matched
