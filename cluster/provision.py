"""Provisioning a profile: the AWS resources (network, node groups, NTH's queue and rules), every
one tagged `spotchaos:cluster=<name>`, then the Kubernetes objects; waiting until nodes and
replicas are Ready and the ALB answers; and tearing down exactly what was made, found by tag,
in dependency order, idempotently.  The same calls go to the local simulator's moto endpoint
or to AWS."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from cluster.endpoints import Endpoints
from cluster.manifests.render import render, validate
from cluster.manifests.serving import predict_path
from cluster.nodegroups import NodeGroupSpec, create_node_group, ensure_network
from cluster.profiles import ClusterProfile
from cluster.waiting import WaitTimeout, wait_for

log = structlog.get_logger("provision")

OWNER_TAG = "spotchaos:cluster"
NTH_EVENT_PATTERN = {
    "source": ["aws.ec2"],
    "detail-type": ["EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation", "EC2 Instance State-change Notification"],
}

Progress = Callable[[str, int, int], None]  # (what, done, total)


class ProvisionError(RuntimeError):
    """Provisioning could not finish; the message says what is missing."""


@dataclass
class Plan:
    aws: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"aws: {a}" for a in self.aws]
        out += [f"kubernetes: create {o['kind']} {o['metadata'].get('namespace', '') + '/' if o['metadata'].get('namespace') else ''}{o['metadata']['name']}"
                for o in self.objects]
        return out


NTH_MANAGED_TAG = "aws-node-termination-handler/managed"


def node_group_specs(profile: ClusterProfile) -> list[NodeGroupSpec]:
    # queue-mode NTH drains only instances of groups carrying its managed tag (CHECK_TAG_BEFORE_DRAINING)
    tags = {OWNER_TAG: profile.name} | ({NTH_MANAGED_TAG: ""} if profile.nth.mode == "queue" else {})
    return [
        NodeGroupSpec(g.name, profile.name, tuple(g.instance_types), desired=g.desired, min_size=g.min_size, max_size=g.max_size,
                      spot=g.spot, labels=dict(g.labels), extra_tags=dict(tags))
        for g in profile.node_groups
    ]


def plan(profile: ClusterProfile) -> Plan:
    """What provisioning does, as data (printed by --dry-run); the manifests are schema-checked."""
    objects = render(profile)
    validate(objects, profile.kubernetes_version)
    p = Plan(objects=objects)
    p.aws.append(f"ec2 CreateVpc + CreateSubnet x{len(profile.azs)} ({', '.join(profile.azs)}) tagged {OWNER_TAG}={profile.name}")
    for g in profile.node_groups:
        kind = f"Spot {', '.join(g.instance_types)} capacity-optimized" if g.spot else f"on-demand {g.instance_types[0]}"
        p.aws.append(f"ec2 CreateLaunchTemplate + autoscaling CreateAutoScalingGroup eks-{profile.name}-{g.name}: {kind}, "
                     f"min {g.min_size} / desired {g.desired} / max {g.max_size}, labels {g.labels}")
    if profile.nth.mode == "queue":
        p.aws.append(f"sqs CreateQueue {profile.name}-nth + events PutRule/PutTargets {profile.name}-nth (Spot warning, rebalance, state change)")
    return p


# ---- AWS ------------------------------------------------------------------------------------
def _clients(endpoints: Endpoints) -> dict[str, Any]:
    import boto3

    kw: dict[str, Any] = endpoints.aws_client_kwargs()
    if endpoints.target == "local":
        kw.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return {s: boto3.client(s, **kw) for s in ("ec2", "autoscaling", "sqs", "events")}


def apply_aws(profile: ClusterProfile, endpoints: Endpoints) -> list[str]:
    c = _clients(endpoints)
    owner = {OWNER_TAG: profile.name}
    subnets = ensure_network(c["ec2"], profile.name, profile.azs, extra_tags=owner)
    existing = {g["AutoScalingGroupName"] for g in c["autoscaling"].describe_auto_scaling_groups()["AutoScalingGroups"]}
    made = []
    for spec in node_group_specs(profile):
        if f"eks-{profile.name}-{spec.name}" in existing:
            continue
        made.append(create_node_group(c["ec2"], c["autoscaling"], spec, subnets))
    if profile.nth.mode == "queue":
        url = c["sqs"].create_queue(QueueName=f"{profile.name}-nth", tags=owner)["QueueUrl"]
        arn = c["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        c["events"].put_rule(Name=f"{profile.name}-nth", EventPattern=json.dumps(NTH_EVENT_PATTERN), Tags=[{"Key": OWNER_TAG, "Value": profile.name}])
        c["events"].put_targets(Rule=f"{profile.name}-nth", Targets=[{"Id": "nth", "Arn": arn}])
    return made


def teardown_aws(name: str, endpoints: Endpoints) -> list[str]:
    """Delete what carries `spotchaos:cluster=<name>`, dependents first; missing things are fine."""
    c = _clients(endpoints)
    done: list[str] = []
    asg = c["autoscaling"]
    for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]:
        if any(t["Key"] == OWNER_TAG and t.get("Value") == name for t in g.get("Tags", [])):
            asg.delete_auto_scaling_group(AutoScalingGroupName=g["AutoScalingGroupName"], ForceDelete=True)
            done.append(f"autoscaling group {g['AutoScalingGroupName']}")
    ec2 = c["ec2"]
    tag_filter = [{"Name": f"tag:{OWNER_TAG}", "Values": [name]}]
    for lt in ec2.describe_launch_templates(Filters=tag_filter).get("LaunchTemplates", []):
        ec2.delete_launch_template(LaunchTemplateId=lt["LaunchTemplateId"])
        done.append(f"launch template {lt['LaunchTemplateName']}")
    events = c["events"]
    for rule in events.list_rules(NamePrefix=name).get("Rules", []):
        tags = events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
        if {"Key": OWNER_TAG, "Value": name} in tags:
            ids = [t["Id"] for t in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])]
            if ids:
                events.remove_targets(Rule=rule["Name"], Ids=ids)
            events.delete_rule(Name=rule["Name"])
            done.append(f"eventbridge rule {rule['Name']}")
    sqs = c["sqs"]
    for url in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []):
        if sqs.list_queue_tags(QueueUrl=url).get("Tags", {}).get(OWNER_TAG) == name:
            sqs.delete_queue(QueueUrl=url)
            done.append(f"sqs queue {url.rsplit('/', 1)[-1]}")
    return done


def teardown_network(name: str, endpoints: Endpoints) -> list[str]:
    """Subnets and the VPC go last, once the instances in them are gone."""
    ec2 = _clients(endpoints)["ec2"]
    tag_filter = [{"Name": f"tag:{OWNER_TAG}", "Values": [name]}]
    done = []
    for sn in ec2.describe_subnets(Filters=tag_filter)["Subnets"]:
        ec2.delete_subnet(SubnetId=sn["SubnetId"])
        done.append(f"subnet {sn['SubnetId']}")
    for vpc in ec2.describe_vpcs(Filters=tag_filter)["Vpcs"]:
        ec2.delete_vpc(VpcId=vpc["VpcId"])
        done.append(f"vpc {vpc['VpcId']}")
    return done


# ---- Kubernetes ----------------------------------------------------------------------------------
def kube_client(endpoints: Endpoints) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=endpoints.kubeconfig, context=endpoints.kube_context)


def apply_objects(objects: list[dict[str, Any]], endpoints: Endpoints) -> int:
    """Create each object (an existing one is left as it is); returns how many were created."""
    from kubernetes import utils
    from kubernetes.utils import FailToCreateError

    api = kube_client(endpoints)
    created = 0
    for obj in objects:
        try:
            utils.create_from_dict(api, obj, namespace=obj["metadata"].get("namespace", "default"))
            created += 1
        except FailToCreateError as exc:
            if all(getattr(e, "status", None) == 409 for e in exc.api_exceptions):
                continue
            raise ProvisionError(f"{obj['kind']} {obj['metadata']['name']}: {exc.api_exceptions[0].reason}: {exc.api_exceptions[0].body}") from None
    return created


def delete_objects(objects: list[dict[str, Any]], endpoints: Endpoints) -> list[str]:
    from kubernetes import dynamic
    from kubernetes.client.exceptions import ApiException

    client = dynamic.DynamicClient(kube_client(endpoints))
    done = []
    for obj in reversed(objects):
        if obj["kind"] == "Namespace" and obj["metadata"]["name"] in ("default", "kube-system"):
            continue
        try:
            resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            ns = obj["metadata"].get("namespace") if resource.namespaced else None
            resource.delete(name=obj["metadata"]["name"], namespace=ns)
            done.append(f"{obj['kind']} {obj['metadata']['name']}")
        except ApiException as exc:
            if exc.status != 404:
                raise
    return done


# ---- waiting -----------------------------------------------------------------------------------------
def wait_until(checks: list[tuple[str, Callable[[], tuple[int, int]]]], timeout: float, progress: Progress | None = None) -> None:
    """Poll each (what, check -> (done, total)) until all are complete; on timeout say what is missing."""
    last: list[str] = []

    def complete() -> bool:
        states = [(what, *check()) for what, check in checks]
        if progress is not None:
            for what, done, total in states:
                progress(what, done, total)
        last[:] = [f"{what}: {done}/{total}" for what, done, total in states if done < total]
        return not last

    try:
        wait_for(complete, timeout, "the cluster", interval=0.25)
    except WaitTimeout:
        raise ProvisionError(f"timed out after {timeout:g}s; still missing: {'; '.join(last)}") from None


def readiness_checks(profile: ClusterProfile, endpoints: Endpoints) -> list[tuple[str, Callable[[], tuple[int, int]]]]:
    from kubernetes import client

    api = kube_client(endpoints)
    core, apps, net = client.CoreV1Api(api), client.AppsV1Api(api), client.NetworkingV1Api(api)
    autoscaling = _clients(endpoints)["autoscaling"]
    sp = profile.serving
    groups = {g.name for g in profile.node_groups}
    asg_names = [f"eks-{profile.name}-{g.name}" for g in profile.node_groups]

    def want_nodes() -> int:
        # the groups' desired capacity now: the Cluster Autoscaler may have moved it since creation
        found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=asg_names)["AutoScalingGroups"]
        return sum(g["DesiredCapacity"] for g in found) if found else sum(g.desired for g in profile.node_groups)

    def nodes() -> tuple[int, int]:
        items = [n for n in core.list_node().items if (n.metadata.labels or {}).get("eks.amazonaws.com/nodegroup") in groups]
        ready = sum(1 for n in items if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []))
        return ready, want_nodes()

    def replicas() -> tuple[int, int]:
        try:
            d = apps.read_namespaced_deployment(sp.name, sp.namespace)
        except Exception:
            return 0, sp.replicas
        # the HPA owns the replica count once the Deployment exists
        return d.status.ready_replicas or 0, d.spec.replicas if d.spec.replicas is not None else sp.replicas

    def alb() -> tuple[int, int]:
        url = ingress_url(net, sp.namespace, sp.service_name, predict_path(sp))
        if url is None:
            return 0, 1
        body = json.dumps({"instances": [[0.0, 0.5, 1.0]]}).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=5) as resp:
                return (1 if resp.status == 200 else 0), 1
        except Exception:
            return 0, 1

    return [("nodes Ready", nodes), (f"{sp.name} replicas Ready", replicas), ("ALB answering predictions", alb)]


def ingress_url(net: Any, namespace: str, name: str, path: str) -> str | None:
    """The service's URL from the Ingress status, as on EKS (address, and port when not 80)."""
    try:
        ing = net.read_namespaced_ingress(name, namespace)
    except Exception:
        return None
    entries = (ing.status and ing.status.load_balancer and ing.status.load_balancer.ingress) or []
    if not entries:
        return None
    host = entries[0].hostname or entries[0].ip
    port = entries[0].ports[0].port if entries[0].ports else 80
    return f"http://{host}{'' if port == 80 else f':{port}'}{path}"
