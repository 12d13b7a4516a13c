"""The node groups of an eksctl ClusterConfig as the simulator launches them: each self-managed
(`nodeGroups`) and managed (`managedNodeGroups`) group an Auto Scaling group of its instance types,
sizes, labels and taints, Spot when eksctl makes it Spot (`spot: true` on a managed group; an
`instancesDistribution` with no on-demand share above its base on a self-managed one), in the
config's availability zones.  (eksctl.io/v1alpha5 ClusterConfig schema.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cluster.eksctl import group_is_spot, group_types
from cluster.instance_types import UnknownInstanceType, lookup
from cluster.nodegroups import NodeGroupSpec

DEFAULT_TYPE = "m5.large"  # eksctl's default instance type


class NodeGroupConfigError(ValueError):
    """A node group the simulator cannot launch; names the group and the field."""


@dataclass(frozen=True)
class TwinCluster:
    """The cluster an eksctl config describes, as far as the simulator launches it."""

    name: str
    region: str
    zones: tuple[str, ...]  # every zone a group launches in
    groups: tuple[NodeGroupSpec, ...]
    group_zones: Mapping[str, tuple[str, ...]]  # a group's own zones (its availabilityZones, or the cluster's)
    tags: Mapping[str, str]  # metadata.tags: eksctl puts them on every resource of the cluster's stacks (its VPC and subnets too)


def twin_cluster(config: Mapping[str, Any], default_region: str = "us-east-1") -> TwinCluster:
    meta = config.get("metadata") or {}
    name = str(meta.get("name") or "twin")
    region = str(meta.get("region") or default_region)
    zones = tuple(str(z) for z in config.get("availabilityZones") or [f"{region}{s}" for s in "abc"])
    entries = [(g, False) for g in config.get("nodeGroups") or []] + [(g, True) for g in config.get("managedNodeGroups") or []]
    groups = [_group(g, name, managed) for g, managed in entries]
    own = {spec.name: tuple(str(z) for z in g.get("availabilityZones") or zones) for spec, (g, _) in zip(groups, entries, strict=True)}
    every = tuple(sorted({*zones, *(z for zs in own.values() for z in zs)}))  # sorted, as ensure_network returns the subnets
    tags = {str(k): str(v) for k, v in (meta.get("tags") or {}).items()}
    return TwinCluster(name, region, every, tuple(groups), own, tags)


def _group(g: Mapping[str, Any], cluster: str, managed: bool) -> NodeGroupSpec:
    name = str(g.get("name") or "")
    if not name:
        raise NodeGroupConfigError(f"{'managedNodeGroups' if managed else 'nodeGroups'}: a node group without a name; give each one `name:`")
    dist = g.get("instancesDistribution") or {}
    types = list(group_types(dict(g))) or [DEFAULT_TYPE]
    for t in types:
        try:
            lookup(t)
        except UnknownInstanceType as exc:
            field = "instancesDistribution.instanceTypes" if dist.get("instanceTypes") else "instanceTypes" if g.get("instanceTypes") else "instanceType"
            raise NodeGroupConfigError(f"node group {name}: {field}: {exc}") from None
    spot = group_is_spot(dict(g), managed)
    min_size = int(g.get("minSize", 0 if "desiredCapacity" in g else 2))
    desired = int(g.get("desiredCapacity", max(min_size, 2)))
    max_size = int(g.get("maxSize", max(desired, min_size)))
    if not min_size <= desired <= max_size:
        raise NodeGroupConfigError(f"node group {name}: minSize {min_size} <= desiredCapacity {desired} <= maxSize {max_size} does not hold")
    taints = {str(t["key"]): f"{t.get('value', '')}:{t.get('effect', 'NoSchedule')}" for t in _taints(g.get("taints"))}
    tags = {str(k): str(v) for k, v in (g.get("tags") or {}).items()}
    if managed:
        tags["eks:nodegroup-name"] = name
        tags["eks:cluster-name"] = cluster
    addon = ((g.get("iam") or {}).get("withAddonPolicies") or {}).get("autoScaler") is True
    return NodeGroupSpec(name, cluster, types, desired=desired, min_size=min_size, max_size=max_size, spot=spot,
                         allocation_strategy=str(dist.get("spotAllocationStrategy") or "capacity-optimized"),
                         labels={str(k): str(v) for k, v in (g.get("labels") or {}).items()}, taints=taints, extra_tags=tags,
                         # EKS tags a managed group for Cluster Autoscaler's discovery; eksctl tags a self-managed one with
                         # withAddonPolicies.autoScaler (the labels and taints stay node-template tags: the simulator gives nodes their labels from them)
                         discovery_tags=managed or addon,
                         on_demand_base=_count(dist.get("onDemandBaseCapacity")), on_demand_above_base=_count(dist.get("onDemandPercentageAboveBaseCapacity")),
                         # EKS turns Capacity Rebalancing on for a managed Spot group; eksctl sets what a self-managed one says
                         capacity_rebalance=(managed and spot) or g.get("capacityRebalance") is True)


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _taints(taints: Any) -> list[Mapping[str, Any]]:
    """eksctl takes a list of {key, value, effect}, or (older configs) a map of key: value:Effect."""
    if isinstance(taints, list):
        return [t for t in taints if isinstance(t, Mapping) and t.get("key")]
    if isinstance(taints, Mapping):
        out = []
        for key, spec in taints.items():
            value, _, effect = str(spec).partition(":")
            out.append({"key": key, "value": value, "effect": effect or "NoSchedule"})
        return out
    return []
