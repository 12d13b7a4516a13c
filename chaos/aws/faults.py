"""Faults through AWS APIs: FIS experiments (Spot interruptions, Auto Scaling capacity errors),
EventBridge-shaped events on NTH's SQS queue, and the reclaim that follows a queued notice.
Blocking boto3 calls, retried with tenacity on throttling and dropped connections."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.exceptions import ConnectionError as BotoConnectionError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from chaos.errors import InjectionError
from cluster.aws.owner import OWNER_TAG
from cluster.components.fis import SAFETY_LEVER_ID, TERMINAL_STATES
from cluster.retry_tally import TALLY

log = structlog.get_logger("inject.aws")
T = TypeVar("T")

ROLE_PATH = "/spotchaos/"  # roles the harness creates, listed by this path
FIS_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
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
    def running_experiments_tagged(self, key: str) -> list[tuple[str, str]]:
        """(id, the tag's value) of the FIS experiments carrying the tag key that have not ended."""
        return [(e["id"], str((e.get("tags") or {})[key])) for e in self._fis_listing("list_experiments", "experiments")
                if key in (e.get("tags") or {}) and e["state"]["status"] not in TERMINAL_STATES]

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
    def launcher_role(self, cluster: str, service_account: str = "karpenter") -> str | None:
        """The IAM role a launcher outside Auto Scaling (Karpenter's controller) launches with: a
        role of the cluster (its name holds the cluster's) that the service account assumes."""
        iam = self.client("iam")
        for page in iam.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                trust = role.get("AssumeRolePolicyDocument") or {}
                trust = json.loads(trust) if isinstance(trust, str) else trust
                subjects = [str(v) for st in trust.get("Statement") or [] for cond in (st.get("Condition") or {}).values()
                            for v in (cond or {}).values() for v in (v if isinstance(v, list) else [v])]
                if cluster in role["RoleName"] and any(v.startswith("system:serviceaccount:") and v.endswith(f":{service_account}") for v in subjects):
                    return str(role["Arn"])
        return None

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
        """(cluster name, profile) of the clusters whose resources carry the tag: their node groups,
        the EKS cluster or the VPC, so a cluster half torn down (its groups gone, say) is found
        too; the VPC, made first and deleted last, stands while anything of the cluster does."""
        found: set[tuple[str, str]] = set()

        def take(tags: dict[str, str]) -> None:
            if tags.get(key) == value and tags.get(OWNER_TAG):
                found.add((tags[OWNER_TAG], tags.get(profile_key, "")))

        for page in self.client("autoscaling").get_paginator("describe_auto_scaling_groups").paginate():
            for g in page["AutoScalingGroups"]:
                take({t["Key"]: t.get("Value", "") for t in g.get("Tags", [])})
        for vpc in self.client("ec2").describe_vpcs(Filters=[{"Name": f"tag:{key}", "Values": [value]}])["Vpcs"]:
            take({t["Key"]: t.get("Value", "") for t in vpc.get("Tags", [])})
        eks = self.client("eks")
        for name in eks.list_clusters().get("clusters", []):
            take(dict(eks.describe_cluster(name=name)["cluster"].get("tags") or {}))
        # a profile is named once anything names it (the tag is on every resource or on none)
        named = {c for c, prof in found if prof}
        return sorted((c, prof) for c, prof in found if prof or c not in named)

    @aws_retry
    def cluster_groups(self, cluster: str, az: str) -> list[str]:
        """ARNs of the cluster's Auto Scaling groups that launch into `az`."""
        pages = self.client("autoscaling").get_paginator("describe_auto_scaling_groups").paginate()
        return [str(g["AutoScalingGroupARN"]) for page in pages for g in page["AutoScalingGroups"]
                if az in g.get("AvailabilityZones", []) and any(t["Key"] == f"kubernetes.io/cluster/{cluster}" for t in g.get("Tags", []))]

    @aws_retry
    def queue_url(self, name: str) -> str:
        """A queue's URL from its name (Karpenter's settings name its queue, NTH's its URL)."""
        try:
            return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
        except ClientError as exc:
            if _transient(exc):
                raise
            raise InjectionError(f"via sqs: the queue '{name}' Karpenter reads is not there: {exc.response.get('Error', {}).get('Message', exc)}") from None

    @aws_retry
    def send_event(self, queue_url: str, event: dict[str, Any]) -> str:
        return str(self.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))["MessageId"])

    @aws_retry
    def terminate(self, instance_id: str) -> None:
        self.client("ec2").terminate_instances(InstanceIds=[instance_id])
