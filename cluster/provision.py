"""Provisioning a profile: the AWS resources (network, IAM roles, the EKS control plane and its
OIDC provider, node groups, NTH's queue and rules), every one tagged `spotchaos:cluster=<name>`,
then the Kubernetes objects; waiting until nodes and
replicas are Ready and the ALB answers; and tearing down exactly what was made, found by tag,
in dependency order, idempotently.  The same calls go to the local simulator's moto endpoint
or to AWS."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from cluster.aws import (
    control_plane,
    iam_roles,
    interruption_queues,
    names,
    network,
    node_bootstrap,
)
from cluster.aws.owner import OWNER_TAG, owned_by
from cluster.components.nth import MANAGED_TAG
from cluster.doctor.findings import MANAGED_GROUP_TAG
from cluster.endpoints import Endpoints
from cluster.kube_retry import call as kube_call
from cluster.kube_retry import transient
from cluster.manifests.karpenter import CRD_KINDS
from cluster.manifests.render import render, validate
from cluster.manifests.serving import predict_path
from cluster.nodegroups import EKS_AMI, NodeGroupSpec, create_node_group, ensure_network
from cluster.profiles import ClusterProfile
from cluster.waiting import WaitTimeout, wait_for

log = structlog.get_logger("provision")

Progress = Callable[[str, int, int], None]  # (what, done, total)

NTH_EVENT_PATTERN = {"source": ["aws.ec2"], "detail-type": [interruption_queues.NTH_RULES[k]["detail-type"][0] for k in ("spot-interruption", "rebalance", "state-change")]}


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
        group_tags = {**tags, MANAGED_GROUP_TAG: g.name} if g.managed else dict(tags)  # as EKS tags a managed group's ASG
        specs.append(NodeGroupSpec(g.name, profile.name, tuple(g.instance_types), desired=g.desired, min_size=g.min_size, max_size=g.max_size,
                                   spot=g.spot, labels=dict(g.labels), extra_tags=group_tags, launch=more,
                                   allocation_strategy="price-capacity-optimized" if g.managed else "capacity-optimized"))
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
        p.aws.append(f"ec2 CreateLaunchTemplate (nodeadm user data) + autoscaling CreateAutoScalingGroup eks-{profile.name}-{g.name}: {kind}, "
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
    import boto3

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
            if f"eks-{name}-{spec.name}" not in existing]
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


def nodes_left(profile: ClusterProfile, endpoints: Endpoints) -> int:
    """The profile's nodes still registered: its groups', and those Karpenter launched (one being
    deleted whose finalizer no Karpenter will lift any more counts as gone)."""
    from kubernetes import client

    groups = {g.name for g in profile.node_groups}
    core = client.CoreV1Api(kube_client(endpoints))
    return sum(1 for n in core.list_node().items
               if (n.metadata.labels or {}).get("eks.amazonaws.com/nodegroup") in groups
               or ("karpenter.sh/nodepool" in (n.metadata.labels or {}) and n.metadata.deletion_timestamp is None))


def node_claims_left(pools: list[str], endpoints: Endpoints) -> int:
    """NodeClaims of these NodePools (Karpenter's nodes) still in the cluster."""
    from kubernetes import client

    claims = kube_call(client.CustomObjectsApi(kube_client(endpoints)).list_cluster_custom_object, "karpenter.sh", "v1", "nodeclaims")["items"]
    return sum(1 for c in claims if (c["metadata"].get("labels") or {}).get("karpenter.sh/nodepool") in pools)


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


def namespaces_left(profile: ClusterProfile, endpoints: Endpoints) -> int:
    """The profile's own namespaces still there (terminating until their objects are gone): a
    provision into a terminating namespace is refused (403), so teardown waits them out."""
    from kubernetes import client

    own = {o["metadata"]["name"] for o in render(profile) if o["kind"] == "Namespace"} - {"default", "kube-system"}
    core = client.CoreV1Api(kube_client(endpoints))
    return sum(1 for n in core.list_namespace().items if n.metadata.name in own)


def load_balancers_left(endpoints: Endpoints, namespace: str, ingress: str) -> int:
    """ALBs the load balancer controller still keeps for the Ingress (it deletes them once the Ingress is gone)."""
    elbv2 = clients_for(endpoints)["elbv2"]
    arns = [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers().get("LoadBalancers", [])]
    left = 0
    for i in range(0, len(arns), 20):
        for desc in elbv2.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]:
            left += any(t["Key"] == "ingress.k8s.aws/stack" and t["Value"] == f"{namespace}/{ingress}" for t in desc["Tags"])
    return left


# ---- Kubernetes ----------------------------------------------------------------------------------
def kube_client(endpoints: Endpoints) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=endpoints.kubeconfig, context=endpoints.kube_context)


def serves_group(endpoints: Endpoints, group: str) -> bool:
    from kubernetes import client

    return any(g.name == group for g in client.ApisApi(kube_client(endpoints)).get_api_versions().groups or [])


def apply_objects(objects: list[dict[str, Any]], endpoints: Endpoints) -> int:
    """Create each object (an existing one is left as it is); returns how many were created."""
    from kubernetes import dynamic, utils
    from kubernetes.client.exceptions import ApiException
    from kubernetes.utils import FailToCreateError

    api = kube_client(endpoints)
    created = 0
    for obj in objects:
        if obj["kind"] in CRD_KINDS:  # custom resources (Karpenter's): the typed helpers have no class for them
            try:
                resource = kube_call(dynamic.DynamicClient(api).resources.get, api_version=obj["apiVersion"], kind=obj["kind"])
                kube_call(resource.create, body=obj)
                created += 1
            except ApiException as exc:
                if exc.status != 409:
                    raise ProvisionError(f"{obj['kind']} {obj['metadata']['name']}: {exc.reason}: {exc.body}") from None
            continue
        try:
            kube_call(utils.create_from_dict, api, obj, namespace=obj["metadata"].get("namespace", "default"))
            created += 1
        except FailToCreateError as exc:
            if all(getattr(e, "status", None) == 409 for e in exc.api_exceptions):
                continue
            raise ProvisionError(f"{obj['kind']} {obj['metadata']['name']}: {exc.api_exceptions[0].reason}: {exc.api_exceptions[0].body}") from None
    return created


def stamped(objects: list[dict[str, Any]], labels: Mapping[str, str], annotations: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Copies of `objects` carrying `labels` and `annotations` on their own metadata (not on pod
    templates: selectors stay as rendered)."""
    out = []
    for obj in objects:
        meta = {**obj["metadata"], "labels": {**(obj["metadata"].get("labels") or {}), **labels}}
        if annotations:
            meta["annotations"] = {**(obj["metadata"].get("annotations") or {}), **annotations}
        out.append({**obj, "metadata": meta})
    return out


def delete_labelled(kinds: list[tuple[str, str]], selector: str, endpoints: Endpoints) -> list[str]:
    """Every object of `kinds` ((apiVersion, kind), in creation order) that `selector` matches,
    deleted in reverse order, namespaces last: what a run created, found without its manifests."""
    from kubernetes import dynamic
    from kubernetes.client.exceptions import ApiException

    client = kube_call(dynamic.DynamicClient, kube_client(endpoints))
    found: list[tuple[Any, dict[str, Any]]] = []
    for api_version, kind in dict.fromkeys(kinds):
        resource = kube_call(client.resources.get, api_version=api_version, kind=kind)
        items = kube_call(resource.get, label_selector=selector).to_dict().get("items") or []
        found += [(resource, item) for item in items]
    done = []
    for resource, item in sorted(reversed(found), key=lambda pair: pair[1].get("kind") == "Namespace" or not pair[0].namespaced):
        meta = item["metadata"]
        try:
            kube_call(resource.delete, name=meta["name"], namespace=meta.get("namespace") if resource.namespaced else None)
            done.append(f"{resource.kind} {meta['name']}")
        except ApiException as exc:
            if exc.status != 404:
                raise
    return done


def delete_objects(objects: list[dict[str, Any]], endpoints: Endpoints) -> list[str]:
    from kubernetes import dynamic
    from kubernetes.client.exceptions import ApiException

    client = kube_call(dynamic.DynamicClient, kube_client(endpoints))
    done = []
    for obj in reversed(objects):
        if obj["kind"] == "Namespace" and obj["metadata"]["name"] in ("default", "kube-system"):
            continue
        try:
            resource = kube_call(client.resources.get, api_version=obj["apiVersion"], kind=obj["kind"])
            ns = obj["metadata"].get("namespace") if resource.namespaced else None
            kube_call(resource.delete, name=obj["metadata"]["name"], namespace=ns)
            done.append(f"{obj['kind']} {obj['metadata']['name']}")
        except ApiException as exc:
            if exc.status != 404:
                raise
    return done


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
    from kubernetes import client

    api = kube_client(endpoints)
    core, apps, net = client.CoreV1Api(api), client.AppsV1Api(api), client.NetworkingV1Api(api)
    autoscaling = clients_for(endpoints)["autoscaling"]
    sp = profile.serving
    groups = {g.name for g in profile.node_groups}
    asg_names = [f"eks-{profile.name}-{g.name}" for g in profile.node_groups]

    def want_nodes() -> int:
        # the groups' desired capacity now: the Cluster Autoscaler may have moved it since creation
        found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=asg_names)["AutoScalingGroups"]
        return sum(g["DesiredCapacity"] for g in found) if found else sum(g.desired for g in profile.node_groups)

    def nodes() -> tuple[int, int]:
        # the groups' nodes, and every node Karpenter launched (the serving pods' replicas wait for those)
        items = [n for n in core.list_node().items if (n.metadata.labels or {}).get("eks.amazonaws.com/nodegroup") in groups]
        launched = [n for n in core.list_node().items if "karpenter.sh/nodepool" in (n.metadata.labels or {})]
        ready = sum(1 for n in items + launched if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []))
        return ready, want_nodes() + len(launched)

    def replicas() -> tuple[int, int]:
        try:
            d = apps.read_namespaced_deployment(sp.name, sp.namespace)
        except Exception:
            return 0, sp.replicas
        # the HPA owns the replica count once the Deployment exists
        return (d.status.ready_replicas if d.status else 0) or 0, d.spec.replicas if d.spec.replicas is not None else sp.replicas

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
