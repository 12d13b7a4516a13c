"""NTH's interruption events, from instance metadata answers (IMDS mode) and from EventBridge
messages on SQS (queue mode), as pkg/monitor/spotitn, rebalancerecommendation, scheduledevent
and sqsevent build them; pure."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cluster.sim.clock import parse_time

SPOT_ITN_TAINT = "aws-node-termination-handler/spot-itn"
REBALANCE_TAINT = "aws-node-termination-handler/rebalance-recommendation"
SCHEDULED_TAINT = "aws-node-termination-handler/scheduled-maintenance"
ASG_LIFECYCLE_TAINT = "aws-node-termination-handler/asg-lifecycle-termination"
# ENABLE_OUT_OF_SERVICE_TAINT: added after a successful drain so that what is left (pods without a
# toleration, volumes) is forced off (pkg/node/node.go OutOfServiceTaint*)
OUT_OF_SERVICE_TAINT = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}
EVENT_ID_LABEL = "aws-node-termination-handler/event-id"
EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
LABEL_VALUE_MAX = 63

SPOT_ITN = "SPOT_ITN"
REBALANCE = "REBALANCE_RECOMMENDATION"
SCHEDULED = "SCHEDULED_EVENT"
SQS_TERMINATE = "SQS_TERMINATE"

STATES_TO_DRAIN = ("stopping", "stopped", "shutting-down", "terminated")


@dataclass
class InterruptionEvent:
    event_id: str
    kind: str
    instance_id: str
    start_time: float
    description: str
    taint_key: str | None  # the pre-drain taint (with TAINT_NODE)
    rebalance: bool = False  # cordon only unless ENABLE_REBALANCE_DRAINING
    node_name: str = ""
    receipt_handle: str | None = None  # queue mode: deleted after the drain


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def cut(value: str) -> str:
    """Label and taint values are at most 63 characters; NTH cuts event ids to fit."""
    return value[:LABEL_VALUE_MAX]


# ---- IMDS mode ---------------------------------------------------------------------------
def from_instance_action(body: str, instance_id: str) -> InterruptionEvent:
    data = json.loads(body)
    when = parse_time(data["time"])
    return InterruptionEvent(
        event_id="spot-itn-" + _sha(body), kind=SPOT_ITN, instance_id=instance_id, start_time=when,
        description=f"Spot ITN received. Instance will be interrupted at {data['time']} \n", taint_key=SPOT_ITN_TAINT,
    )


def from_rebalance(body: str, instance_id: str) -> InterruptionEvent:
    data = json.loads(body)
    return InterruptionEvent(
        event_id="rebalance-recommendation-" + _sha(body), kind=REBALANCE, instance_id=instance_id,
        start_time=parse_time(data["noticeTime"]),
        description=f"Rebalance recommendation received. Instance rebalance recommendation notice time: {data['noticeTime']} \n",
        taint_key=REBALANCE_TAINT, rebalance=True,
    )


def from_scheduled(body: str, instance_id: str) -> list[InterruptionEvent]:
    out = []
    for ev in json.loads(body) or []:
        if ev.get("State") in ("completed", "canceled"):
            continue
        start = datetime.strptime(ev["NotBefore"], "%d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC).timestamp()
        out.append(InterruptionEvent(
            event_id=ev["EventId"], kind=SCHEDULED, instance_id=instance_id, start_time=start,
            description=f"{ev['Code']} will occur between {ev['NotBefore']} and {ev.get('NotAfter', '')} because {ev.get('Description', '')}\n",
            taint_key=SCHEDULED_TAINT,
        ))
    return out


# ---- queue mode ---------------------------------------------------------------------------
class UnsupportedEvent(ValueError):
    """A message NTH logs ("ignoring event due to error") and leaves on the queue."""


def from_queue_message(body: str) -> tuple[InterruptionEvent | None, str]:
    """The interruption event a message carries (None: a kind NTH reads and does nothing with),
    and the instance id.  Raises UnsupportedEvent for what NTH cannot parse or does not support."""
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise UnsupportedEvent(f"message body is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise UnsupportedEvent("message body is not an EventBridge event object")
    source = event.get("source")
    if source not in ("aws.ec2", "aws.autoscaling"):
        raise UnsupportedEvent(f"Event source ({source}) is not supported")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise UnsupportedEvent("event has no detail object")
    detail_type = event.get("detail-type")
    eid = str(event.get("id", ""))
    hex_id = eid.encode().hex()
    try:
        when = parse_time(str(event.get("time")))
    except ValueError:
        raise UnsupportedEvent(f"event time {event.get('time')!r} is not an RFC 3339 time") from None
    iid = str(detail.get("instance-id") or detail.get("EC2InstanceId") or "")
    if source == "aws.autoscaling":
        return None, iid  # ASG lifecycle hooks: ENABLE_ASG_LIFECYCLE_DRAINING is not simulated
    if detail_type == "EC2 Spot Instance Interruption Warning":
        return InterruptionEvent(
            event_id=f"spot-itn-event-{hex_id}", kind=SQS_TERMINATE, instance_id=iid, start_time=when,
            description=f"Spot Interruption event received. Instance {iid} will be interrupted at {event.get('time')} \n",
            taint_key=SPOT_ITN_TAINT,
        ), iid
    if detail_type == "EC2 Instance Rebalance Recommendation":
        return InterruptionEvent(
            event_id=f"rebalance-recommendation-event-{hex_id}", kind=SQS_TERMINATE, instance_id=iid, start_time=when,
            description=f"Rebalance Recommendation event received. Instance {iid} will be cordoned at {event.get('time')} \n",
            taint_key=REBALANCE_TAINT, rebalance=True,
        ), iid
    if detail_type == "EC2 Instance State-change Notification":
        state = str(detail.get("state", "")).lower()
        if state not in STATES_TO_DRAIN:
            return None, iid
        return InterruptionEvent(
            event_id=f"ec2-state-change-event-{hex_id}", kind=SQS_TERMINATE, instance_id=iid, start_time=when,
            description=f"EC2 State Change event received. Instance {iid} went into {state} at {event.get('time')} \n",
            taint_key=None,
        ), iid
    return None, iid
