"""eksctl's ClusterConfig (eksctl.io/v1alpha5) for a profile, for users who create clusters with
eksctl; and the reverse: node group facts read from a ClusterConfig, for `doctor`."""

from __future__ import annotations

from typing import Any

from cluster.doctor import NodeGroupFacts
from cluster.doctor.findings import MANAGED_GROUP_TAG
from cluster.profiles import ClusterProfile

CA_TAGS = ("k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/{cluster}")


def cluster_config(profile: ClusterProfile) -> dict[str, Any]:
    """Unmanaged node groups with a MixedInstancesPolicy for Spot (as the walkthrough), or managed
    Spot groups (`spot: true`) when the profile says so; a managed on-demand group for the control
    apps; autoscaler and ALB add-on policies; OIDC for IRSA."""
    spot, on_demand = [], []
    for g in profile.node_groups:
        if g.spot and g.managed:  # EKS managed Spot: several types, capacity rebalancing on, EKS drains
            on_demand.append({
                "name": g.name, "instanceTypes": list(g.instance_types), "spot": True, "minSize": g.min_size, "maxSize": g.max_size,
                "desiredCapacity": g.desired, "privateNetworking": True, "labels": dict(g.labels),
                "tags": {"k8s.io/cluster-autoscaler/node-template/label/" + k: v for k, v in g.labels.items()},
                "iam": {"withAddonPolicies": {"autoScaler": True, "albIngress": True}},
            })
        elif g.spot:
            spot.append({
                "name": g.name, "minSize": g.min_size, "maxSize": g.max_size, "desiredCapacity": g.desired, "privateNetworking": True,
                "instancesDistribution": {"instanceTypes": list(g.instance_types), "onDemandBaseCapacity": 0,
                                          "onDemandPercentageAboveBaseCapacity": 0, "spotAllocationStrategy": "capacity-optimized"},
                "labels": dict(g.labels),
                "tags": {"k8s.io/cluster-autoscaler/node-template/label/" + k: v for k, v in g.labels.items()},
                "iam": {"withAddonPolicies": {"autoScaler": True, "albIngress": True}},
            })
        else:
            on_demand.append({
                "name": g.name, "instanceType": g.instance_types[0], "minSize": g.min_size, "maxSize": g.max_size,
                "desiredCapacity": g.desired, "privateNetworking": True, "labels": dict(g.labels),
                "iam": {"withAddonPolicies": {"autoScaler": True, "albIngress": True}},
            })
    config: dict[str, Any] = {
        "apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig",
        "metadata": {"name": profile.name, "region": profile.region, "version": profile.kubernetes_version,
                     "tags": {**profile.tags, "spotchaos:cluster": profile.name}},
        "availabilityZones": list(profile.azs),
        "iam": {"withOIDC": True},
        "managedNodeGroups": on_demand,
        "nodeGroups": spot,
    }
    if profile.karpenter is not None:
        # eksctl's karpenter block: the controller's IAM role and service account, and its interruption queue with the rules
        config["metadata"]["tags"]["karpenter.sh/discovery"] = profile.name
        config["karpenter"] = {"version": profile.karpenter.version, "createServiceAccount": True,
                               "withSpotInterruptionQueue": profile.karpenter.interruption_queue}
    return config


def group_types(g: dict[str, Any]) -> tuple[str, ...]:
    """A node group's instance types: a managed group's `instanceTypes`, a self-managed one's
    `instancesDistribution.instanceTypes`, or either's single `instanceType` (empty when none is given)."""
    dist = g.get("instancesDistribution") or {}
    return tuple(str(t) for t in (g.get("instanceTypes") or dist.get("instanceTypes") or ([g["instanceType"]] if g.get("instanceType") else [])))


def group_is_spot(g: dict[str, Any], managed: bool) -> bool:
    """Spot as eksctl makes it: `spot: true` on a managed group; on a self-managed one an
    `instancesDistribution` with no on-demand share above its base."""
    if managed:
        return bool(g.get("spot"))
    dist = g.get("instancesDistribution") or {}
    return bool(dist) and int(dist.get("onDemandPercentageAboveBaseCapacity", 100)) == 0


def node_group_facts(config: dict[str, Any]) -> list[NodeGroupFacts]:
    cluster = (config.get("metadata") or {}).get("name", "")
    out = []
    for g in config.get("nodeGroups") or []:
        out.append(NodeGroupFacts(g["name"], group_types(g), group_is_spot(g, False), int(g.get("maxSize", 0)), _tags(g, cluster)))
    for g in config.get("managedNodeGroups") or []:
        tags = {**_tags(g, cluster), MANAGED_GROUP_TAG: g["name"]}  # as EKS tags a managed group's Auto Scaling group
        out.append(NodeGroupFacts(g["name"], group_types(g), group_is_spot(g, True), int(g.get("maxSize", 0)), tags))
    return out


def _tags(group: dict[str, Any], cluster: str) -> dict[str, str]:
    tags = {str(k): str(v) for k, v in (group.get("tags") or {}).items()}
    if ((group.get("iam") or {}).get("withAddonPolicies") or {}).get("autoScaler"):
        tags.update({t.format(cluster=cluster): "owned" for t in CA_TAGS})  # eksctl adds these with the autoScaler policy
    return tags
