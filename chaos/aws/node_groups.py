"""A cluster's node groups as doctor reads them: its Auto Scaling groups (those tagged for a
Kubernetes cluster), with their instance types, whether they buy Spot, their size and tags."""

from __future__ import annotations

from chaos.aws.clients import plain_client
from cluster.doctor import NodeGroupFacts
from cluster.endpoints import Endpoints


def node_groups(endpoints: Endpoints) -> list[NodeGroupFacts]:
    groups = []
    for g in plain_client(endpoints, "autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]:
        tags = {t["Key"]: t.get("Value", "") for t in g.get("Tags", [])}
        if not any(k.startswith("kubernetes.io/cluster/") for k in tags):
            continue
        policy = g.get("MixedInstancesPolicy") or {}
        types = tuple(o["InstanceType"] for o in (policy.get("LaunchTemplate") or {}).get("Overrides") or [] if "InstanceType" in o)
        spot = int((policy.get("InstancesDistribution") or {}).get("OnDemandPercentageAboveBaseCapacity", 100)) == 0 if policy else False
        name = tags.get("alpha.eksctl.io/nodegroup-name") or tags.get("eks:nodegroup-name") or g["AutoScalingGroupName"]
        groups.append(NodeGroupFacts(name, types, spot, int(g["MaxSize"]), tags))
    return groups
