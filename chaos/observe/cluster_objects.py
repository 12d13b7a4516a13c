"""What doctor reads from a live cluster: the objects it checks, listed through the Kubernetes API,
and the node groups, from the cluster's Auto Scaling groups (an SDK adapter: the kubernetes
client and boto3 are called here, the checks themselves are pure in cluster/doctor)."""

from __future__ import annotations

from typing import Any

from cluster.doctor import NodeGroupFacts
from cluster.endpoints import Endpoints

Obj = dict[str, Any]
KINDS = (("apps/v1", "Deployment"), ("apps/v1", "DaemonSet"), ("networking.k8s.io/v1", "Ingress"), ("policy/v1", "PodDisruptionBudget"),
         ("autoscaling/v2", "HorizontalPodAutoscaler"), ("v1", "Secret"), ("v1", "Service"))


def from_cluster(endpoints: Endpoints) -> tuple[list[Obj], list[NodeGroupFacts]]:
    """The objects doctor reads, listed from the cluster, and node groups from its ASGs."""
    import boto3
    from kubernetes import config, dynamic

    api = config.new_client_from_config(config_file=endpoints.kubeconfig, context=endpoints.kube_context)
    client = dynamic.DynamicClient(api)
    objects: list[Obj] = []
    for api_version, kind in KINDS:
        for item in client.resources.get(api_version=api_version, kind=kind).get().items:
            obj = item.to_dict()
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
            objects.append(obj)
    kw: dict[str, Any] = endpoints.aws_client_kwargs()
    asg = boto3.client("autoscaling", **kw)
    groups = []
    for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]:
        tags = {t["Key"]: t.get("Value", "") for t in g.get("Tags", [])}
        if not any(k.startswith("kubernetes.io/cluster/") for k in tags):
            continue
        policy = g.get("MixedInstancesPolicy") or {}
        types = tuple(o["InstanceType"] for o in (policy.get("LaunchTemplate") or {}).get("Overrides") or [] if "InstanceType" in o)
        spot = int((policy.get("InstancesDistribution") or {}).get("OnDemandPercentageAboveBaseCapacity", 100)) == 0 if policy else False
        name = tags.get("alpha.eksctl.io/nodegroup-name") or tags.get("eks:nodegroup-name") or g["AutoScalingGroupName"]
        groups.append(NodeGroupFacts(name, types, spot, int(g["MaxSize"]), tags))
    return objects, groups
