"""Faults through AWS APIs: FIS experiments (Spot interruptions, Auto Scaling capacity errors),
EventBridge-shaped events on NTH's SQS queue, and the reclaim that follows a queued notice.
Blocking boto3 calls, retried with tenacity on throttling and dropped connections."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import uuid4

import structlog
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.exceptions import ConnectionError as BotoConnectionError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from chaos.errors import InjectionError
from cluster.components.fis import SAFETY_LEVER_ID, TERMINAL_STATES
from cluster.retry_tally import TALLY

log = structlog.get_logger("inject.aws")
T = TypeVar("T")

ROLE_PATH = "/spotchaos/"  # roles the harness creates, listed by this path
FIS_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
MAX_ARNS_PER_TARGET = 5  # FIS's limit on resourceArns in one target
THROTTLING = ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "ServiceUnavailable", "InternalError")


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, EndpointConnectionError | BotoConnectionError):
        return True
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in THROTTLING


aws_retry = retry(retry=retry_if_exception(_transient), stop=stop_after_attempt(5), wait=wait_exponential(multiplier=0.2, max=3), reraise=True,
                  before_sleep=lambda _state: TALLY.add("aws call"))


def _delete_once(call: Callable[[], object], gone_code: str) -> str:
    """An idempotent delete: a resource already gone is success."""
    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == gone_code:
            return "already gone"
        raise
    return "deleted"


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


class AwsFaults:
    def __init__(self, client: Callable[[str], Any], region: str) -> None:
        self.client = client
        self.region = region
        self._account: str | None = None

    @aws_retry
    def account(self) -> str:
        if self._account is None:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account

    def instance_arn(self, instance_id: str) -> str:
        return f"arn:aws:ec2:{self.region}:{self.account()}:instance/{instance_id}"

    @aws_retry
    def ensure_fis_role(self, name: str, tags: dict[str, str] | None = None) -> tuple[str, bool]:
        """(the role's ARN, whether this call created it)."""
        iam = self.client("iam")
        try:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"]), False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
        role = iam.create_role(RoleName=name, Path=ROLE_PATH, AssumeRolePolicyDocument=json.dumps(FIS_TRUST),
                               Tags=[{"Key": "spotchaos:managed", "Value": "true"}] + [{"Key": k, "Value": v} for k, v in (tags or {}).items()])
        return str(role["Role"]["Arn"]), True

    @aws_retry
    def delete_role(self, name: str) -> str:
        return _delete_once(lambda: self.client("iam").delete_role(RoleName=name), "NoSuchEntity")

    @aws_retry
    def roles_tagged(self, key: str, value: str) -> list[str]:
        iam = self.client("iam")
        names = [r["RoleName"] for page in iam.get_paginator("list_roles").paginate(PathPrefix=ROLE_PATH) for r in page["Roles"]]
        return [n for n in names if {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=n)["Tags"]}.get(key) == value]

    def _refused(self, exc: ClientError) -> InjectionError:
        return InjectionError(f"FIS refused the experiment: {exc.response.get('Error', {}).get('Message', exc)}")

    @aws_retry
    def create_template(self, template: dict[str, Any], client_token: str) -> str:
        """The client token makes a retried call create one template, not two."""
        try:
            return str(self.client("fis").create_experiment_template(clientToken=client_token, **template)["experimentTemplate"]["id"])
        except ClientError as exc:
            if _transient(exc):
                raise
            raise self._refused(exc) from None

    @aws_retry
    def start_experiment(self, template_id: str, tags: dict[str, str], client_token: str) -> str:
        try:
            return str(self.client("fis").start_experiment(clientToken=client_token, experimentTemplateId=template_id, tags=tags)["experiment"]["id"])
        except ClientError as exc:
            if _transient(exc):
                raise
            raise self._refused(exc) from None

    @aws_retry
    def stop_fis(self, experiment_id: str) -> str:
        fis = self.client("fis")
        state = fis.get_experiment(id=experiment_id)["experiment"]["state"]["status"]
        if state in TERMINAL_STATES:
            return state
        fis.stop_experiment(id=experiment_id)
        return "stopping"

    @aws_retry
    def delete_template(self, template_id: str) -> str:
        return _delete_once(lambda: self.client("fis").delete_experiment_template(id=template_id), "ResourceNotFoundException")

    def _fis_listing(self, operation: str, key: str) -> list[dict[str, Any]]:
        fis, out, token = self.client("fis"), [], None
        while True:
            page = getattr(fis, operation)(**({"nextToken": token} if token else {}))
            out += page.get(key, [])
            token = page.get("nextToken")
            if not token:
                return out

    @aws_retry
    def experiments_tagged(self, key: str, value: str) -> list[tuple[str, str]]:
        """(id, state) of the FIS experiments carrying the tag."""
        return [(e["id"], e["state"]["status"]) for e in self._fis_listing("list_experiments", "experiments") if (e.get("tags") or {}).get(key) == value]

    @aws_retry
    def templates_tagged(self, key: str, value: str) -> list[str]:
        return [t["id"] for t in self._fis_listing("list_experiment_templates", "experimentTemplates") if (t.get("tags") or {}).get(key) == value]

    @aws_retry
    def safety_lever(self) -> tuple[str, str]:
        """(status, reason) of the account's FIS safety lever in this Region; status `unknown` when
        the lever cannot be read (no permission for fis:GetSafetyLever, say)."""
        try:
            state = self.client("fis").get_safety_lever(id=SAFETY_LEVER_ID)["safetyLever"]["state"]
        except ClientError as exc:
            if _transient(exc):
                raise
            return "unknown", str(exc.response.get("Error", {}).get("Message", exc))[:300]
        return str(state.get("status", "")), str(state.get("reason", ""))

    @aws_retry
    def set_safety_lever(self, status: str, reason: str) -> tuple[str, str]:
        state = self.client("fis").update_safety_lever_state(id=SAFETY_LEVER_ID, state={"status": status, "reason": reason})["safetyLever"]["state"]
        return str(state.get("status", "")), str(state.get("reason", ""))

    @aws_retry
    def asg_arn(self, node_group: str, cluster: str) -> tuple[str, list[str]]:
        """The Auto Scaling group of a node group (eksctl's nodegroup-name tag or EKS's node group name) and its AZs."""
        groups = self.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
        for g in groups:
            tags = {t["Key"]: t["Value"] for t in g.get("Tags", [])}
            owned = f"kubernetes.io/cluster/{cluster}" in tags or not cluster
            if owned and node_group in (tags.get("alpha.eksctl.io/nodegroup-name"), tags.get("eks:nodegroup-name"), g["AutoScalingGroupName"]):
                return str(g["AutoScalingGroupARN"]), list(g.get("AvailabilityZones", []))
        raise InjectionError(f"no Auto Scaling group for node group '{node_group}' in cluster {cluster}: check select.node_group")

    @aws_retry
    def clusters_tagged(self, key: str, value: str, profile_key: str) -> list[tuple[str, str]]:
        """(cluster name, profile) of the clusters whose node groups carry the tag."""
        pages = self.client("autoscaling").get_paginator("describe_auto_scaling_groups").paginate()
        found = set()
        for page in pages:
            for g in page["AutoScalingGroups"]:
                tags = {t["Key"]: t.get("Value", "") for t in g.get("Tags", [])}
                if tags.get(key) == value and tags.get("eks:cluster-name"):
                    found.add((tags["eks:cluster-name"], tags.get(profile_key, "")))
        return sorted(found)

    @aws_retry
    def cluster_groups(self, cluster: str, az: str) -> list[str]:
        """ARNs of the cluster's Auto Scaling groups that launch into `az`."""
        pages = self.client("autoscaling").get_paginator("describe_auto_scaling_groups").paginate()
        return [str(g["AutoScalingGroupARN"]) for page in pages for g in page["AutoScalingGroups"]
                if az in g.get("AvailabilityZones", []) and any(t["Key"] == f"kubernetes.io/cluster/{cluster}" for t in g.get("Tags", []))]

    @aws_retry
    def send_event(self, queue_url: str, event: dict[str, Any]) -> str:
        return str(self.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))["MessageId"])

    @aws_retry
    def terminate(self, instance_id: str) -> None:
        self.client("ec2").terminate_instances(InstanceIds=[instance_id])
