"""Provisioning a profile: the AWS resources (network, IAM roles, the EKS control plane and its
OIDC provider, node groups, NTH's queue and rules), every one tagged `spotchaos:cluster=<name>`,
then the Kubernetes objects; waiting until nodes and
replicas are Ready and the ALB answers; and tearing down exactly what was made, found by tag,
in dependency order, idempotently.  The same calls go to the local simulator's moto endpoint
or to AWS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import structlog

from cluster import kube_objects
from cluster import resource_names as names
from cluster.aws import (
    control_plane,
    iam_roles,
    interruption_queues,
    network,
    node_bootstrap,
)
from cluster.aws.owner import OWNER_TAG, owned_by
from cluster.components.nth import MANAGED_TAG
from cluster.doctor.findings import MANAGED_GROUP_TAG
from cluster.endpoints import Endpoints
from cluster.kube_objects import ProvisionError
from cluster.kube_retry import transient
from cluster.manifests.render import render, validate
from cluster.nodegroups import EKS_AMI, NodeGroupSpec, create_node_group, ensure_network, group_name
from cluster.profiles import ClusterProfile
from cluster.waiting import WaitTimeout, wait_for

log = structlog.get_logger("provision")

Progress = Callable[[str, int, int], None]  # (what, done, total)

NTH_EVENT_PATTERN = {"source": ["aws.ec2"], "detail-type": [interruption_queues.NTH_RULES[k]["detail-type"][0] for k in ("spot-interruption", "rebalance", "state-change")]}


@dataclass
class Plan:
    aws: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"aws: {a}" for a in self.aws]
        out += [f"kubernetes: create {o['kind']} {o['metadata'].get('namespace', '') + '/' if o['metadata'].get('namespace') else ''}{o['metadata']['name']}"
                for o in self.objects]
        return out


@dataclass
class AwsResult:
    """What the AWS side came to: the account, the EKS cluster as described, role ARNs by purpose,
    NTH's queue (queue mode) and the Auto Scaling groups made by this call."""

    account: str
    cluster: dict[str, Any]
    roles: dict[str, str]
    queue_url: str | None
    made_groups: list[str]


def node_group_specs(profile: ClusterProfile, launch: dict[str, Any] | None = None, cluster: dict[str, Any] | None = None) -> list[NodeGroupSpec]:
    """The profile's groups as ASG specs; with `launch` and the described `cluster`, each group's
    launch template also carries the bootstrap user data with its labels."""
    # queue-mode NTH drains only instances of groups carrying its managed tag (CHECK_TAG_BEFORE_DRAINING)
    tags = {**profile.tags, OWNER_TAG: profile.name} | ({MANAGED_TAG: ""} if profile.nth.mode == "queue" else {})
    specs = []
    for g in profile.node_groups:
        more: dict[str, Any] = dict(launch or {})
        if cluster is not None:
            node_labels = {**g.labels, "eks.amazonaws.com/nodegroup": g.name, "eks.amazonaws.com/capacityType": "SPOT" if g.spot else "ON_DEMAND"}
            more["UserData"] = node_bootstrap.user_data(cluster, node_labels)
        # as EKS tags a managed group's ASG, and turns Capacity Rebalancing on for a managed Spot group
        group_tags = {**tags, MANAGED_GROUP_TAG: g.name, "eks:cluster-name": profile.name} if g.managed else dict(tags)
        specs.append(NodeGroupSpec(g.name, profile.name, tuple(g.instance_types), desired=g.desired, min_size=g.min_size, max_size=g.max_size,
                                   spot=g.spot, labels=dict(g.labels), extra_tags=group_tags, launch=more,
                                   allocation_strategy="price-capacity-optimized" if g.managed else "capacity-optimized",
                                   capacity_rebalance=g.managed and g.spot))
    return specs


def plan(profile: ClusterProfile, account: str = names.DEFAULT_ACCOUNT) -> Plan:
    """What provisioning does, as data (printed by --dry-run); the manifests are schema-checked."""
    objects = render(profile, account)
    validate(objects, profile.kubernetes_version)
    p = Plan(objects=objects)
    owner = f"{OWNER_TAG}={profile.name}"
    p.aws.append(f"ec2 CreateVpc + CreateSubnet x{len(profile.azs)} ({', '.join(profile.azs)}) + internet gateway and route table, tagged {owner}")
    p.aws.append(f"ec2 CreateSecurityGroup {profile.name}-nodes")
    p.aws += [r.describe(profile.name) for r in iam_roles.service_roles()]
    p.aws.append(f"eks CreateCluster {profile.name} (Kubernetes {profile.kubernetes_version}, API_AND_CONFIG_MAP) and wait until ACTIVE")
    p.aws.append("iam CreateOpenIDConnectProvider for the cluster's issuer (IRSA)")
    p.aws += [r.describe(profile.name) for r in iam_roles.irsa_roles(profile, account, "https://oidc.eks.<region>.amazonaws.com/id/<cluster>")]
    p.aws.append(f"ssm GetParameter {node_bootstrap.AMI_PARAMETER.format(version=profile.kubernetes_version)} (the node AMI)")
    for g in profile.node_groups:
        kind = f"Spot {', '.join(g.instance_types)} capacity-optimized" if g.spot else f"on-demand {g.instance_types[0]}"
        p.aws.append(f"ec2 CreateLaunchTemplate (nodeadm user data) + autoscaling CreateAutoScalingGroup {group_name(profile.name, g.name)}: {kind}, "
                     f"min {g.min_size} / desired {g.desired} / max {g.max_size}, labels {g.labels}")
    if profile.nth.mode == "queue":
        p.aws += interruption_queues.plan_lines(profile.name)
    if profile.karpenter is not None and profile.karpenter.interruption_queue:
        p.aws += interruption_queues.plan_lines(profile.name, interruption_queues.KARPENTER)
    if profile.karpenter is not None:
        p.aws.append(f"left to Helm on EKS: the Karpenter chart {profile.karpenter.version} and its CRDs (its values: karpenter-values.yaml from spotchaos render)")
    return p


# ---- AWS ------------------------------------------------------------------------------------
def clients_for(endpoints: Endpoints) -> dict[str, Any]:
    kw: dict[str, Any] = endpoints.aws_client_kwargs()
    return {s: boto3.client(s, **kw) for s in ("ec2", "autoscaling", "sqs", "events", "iam", "eks", "ssm", "sts", "elbv2")}


def apply_aws(profile: ClusterProfile, endpoints: Endpoints, ami: str | None = None, wait_delay: float = 30.0) -> AwsResult:
    """Create the AWS side; every step finds what a previous run made and keeps it."""
    c = clients_for(endpoints)
    name = profile.name
    account = str(c["sts"].get_caller_identity()["Account"])
    if ami is None:  # first: a region without the AMI gets nothing created
        ami = EKS_AMI if endpoints.target == "local" else node_bootstrap.eks_ami(c["ssm"], profile.kubernetes_version, endpoints.region)
    tags = profile.tags  # users' cost tags and, from a run, its id: on every resource made here
    discovery = {"karpenter.sh/discovery": name} if profile.karpenter is not None else {}  # the EC2NodeClass finds its subnets by it
    subnets = ensure_network(c["ec2"], name, profile.azs, extra_tags={**tags, OWNER_TAG: name, **discovery})
    vpc = network.vpc_of(c["ec2"], subnets)
    network.ensure_internet_route(c["ec2"], name, vpc, subnets, tags)
    node_sg = network.ensure_node_security_group(c["ec2"], name, vpc, {**tags, **discovery})
    roles = iam_roles.ensure_roles(c["iam"], name, iam_roles.service_roles(), tags)
    cluster = control_plane.ensure_cluster(c["eks"], name, profile.kubernetes_version, roles[names.CLUSTER_ROLE], subnets, wait_delay, tags)
    issuer = cluster["identity"]["oidc"]["issuer"]
    control_plane.ensure_oidc_provider(c["iam"], name, issuer, tags)
    roles |= iam_roles.ensure_roles(c["iam"], name, iam_roles.irsa_roles(profile, account, issuer), tags)
    cluster_sg = (cluster.get("resourcesVpcConfig") or {}).get("clusterSecurityGroupId")
    launch = {"ImageId": ami, "IamInstanceProfile": {"Arn": iam_roles.instance_profile_arn(c["iam"], name)},
              "SecurityGroupIds": [node_sg, *([cluster_sg] if cluster_sg else [])],
              "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}}
    existing = {g["AutoScalingGroupName"] for g in c["autoscaling"].describe_auto_scaling_groups()["AutoScalingGroups"]}
    made = [create_node_group(c["ec2"], c["autoscaling"], spec, subnets) for spec in node_group_specs(profile, launch, cluster)
            if group_name(name, spec.name) not in existing]
    queue_url = interruption_queues.ensure_queue_and_rules(c["sqs"], c["events"], name, tags) if profile.nth.mode == "queue" else None
    if profile.karpenter is not None and profile.karpenter.interruption_queue:
        interruption_queues.ensure_queue_and_rules(c["sqs"], c["events"], name, tags, interruption_queues.KARPENTER)
    return AwsResult(account, cluster, roles, queue_url, made)


def delete_node_groups(name: str, endpoints: Endpoints) -> list[str]:
    """The cluster's Auto Scaling groups (their instances go with them) and launch templates."""
    c = clients_for(endpoints)
    done: list[str] = []
    asg = c["autoscaling"]
    for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]:
        if owned_by(g.get("Tags"), name) and g.get("Status") != "Delete in progress":
            asg.delete_auto_scaling_group(AutoScalingGroupName=g["AutoScalingGroupName"], ForceDelete=True)
            done.append(f"autoscaling group {g['AutoScalingGroupName']}")
    ec2 = c["ec2"]
    for lt in ec2.describe_launch_templates(Filters=[{"Name": f"tag:{OWNER_TAG}", "Values": [name]}]).get("LaunchTemplates", []):
        ec2.delete_launch_template(LaunchTemplateId=lt["LaunchTemplateId"])
        done.append(f"launch template {lt['LaunchTemplateName']}")
    return done


def instances_left(name: str, endpoints: Endpoints) -> int:
    """Instances of the cluster's groups not yet terminated."""
    ec2 = clients_for(endpoints)["ec2"]
    filters = [{"Name": f"tag:kubernetes.io/cluster/{name}", "Values": ["owned"]},
               {"Name": "instance-state-name", "Values": ["pending", "running", "shutting-down", "stopping", "stopped"]}]
    return sum(len(r["Instances"]) for r in ec2.describe_instances(Filters=filters)["Reservations"])


def delete_control_plane_and_rest(name: str, endpoints: Endpoints, wait_delay: float = 30.0) -> list[str]:
    """After the instances are gone: the EKS cluster, its OIDC provider, the IAM roles, NTH's
    queue and rules, and the network last."""
    c = clients_for(endpoints)
    done = control_plane.delete_cluster(c["eks"], name, wait_delay)
    done += control_plane.delete_oidc_providers(c["iam"], name)
    done += iam_roles.delete_roles(c["iam"], name)
    done += interruption_queues.delete_queue_and_rules(c["sqs"], c["events"], name)
    done += network.delete_network(c["ec2"], name)
    return done


def terminate_karpenter_instances(name: str, endpoints: Endpoints) -> list[str]:
    """Instances Karpenter launched for the cluster and did not end (it was gone, or stuck): ended by
    their tags, as Karpenter's own uninstall guide does."""
    ec2 = clients_for(endpoints)["ec2"]
    filters = [{"Name": f"tag:kubernetes.io/cluster/{name}", "Values": ["owned"]}, {"Name": "tag-key", "Values": ["karpenter.sh/nodepool"]},
               {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    ids = [i["InstanceId"] for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)
    return [f"instance {i} (launched by Karpenter)" for i in ids]


def load_balancers_left(endpoints: Endpoints, namespace: str, ingress: str) -> int:
    """ALBs the load balancer controller still keeps for the Ingress (it deletes them once the Ingress is gone)."""
    elbv2 = clients_for(endpoints)["elbv2"]
    arns = [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers().get("LoadBalancers", [])]
    left = 0
    for i in range(0, len(arns), 20):
        for desc in elbv2.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]:
            left += any(t["Key"] == "ingress.k8s.aws/stack" and t["Value"] == f"{namespace}/{ingress}" for t in desc["Tags"])
    return left


# ---- waiting -----------------------------------------------------------------------------------------
def wait_until(checks: list[tuple[str, Callable[[], tuple[int, int]]]], timeout: float, progress: Progress | None = None) -> None:
    """Poll each (what, check -> (done, total)) until all are complete; on timeout say what is missing."""
    last: list[str] = []

    def probe(what: str, check: Callable[[], tuple[int, int]]) -> tuple[str, int, int]:
        try:
            return (what, *check())
        except Exception as exc:
            if not transient(exc):
                raise
            return what, 0, 1  # the API failed this once: not known to be done, look again

    def complete() -> bool:
        states = [probe(what, check) for what, check in checks]
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
    """Nodes Ready (as many as the groups want now), replicas Ready and the ALB answering."""
    return kube_objects.readiness_checks(profile, kube_objects.kube_client(endpoints), clients_for(endpoints)["autoscaling"])
