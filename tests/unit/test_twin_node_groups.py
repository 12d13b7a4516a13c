"""An eksctl ClusterConfig's node groups as the simulator launches them (cluster/twin/node_groups.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cluster.instance_types import InstanceType, lookup
from cluster.twin.inputs import TwinInputError, read_inputs
from cluster.twin.node_groups import NodeGroupConfigError, twin_cluster

FIXTURE = Path(__file__).parents[1] / "fixtures" / "doctor" / "hardened" / "cluster.yaml"


def test_self_managed_and_managed_groups_keep_their_types_sizes_labels_taints_and_spot_share():
    config = {"metadata": {"name": "shop", "region": "eu-west-1"}, "availabilityZones": ["eu-west-1a", "eu-west-1b"],
              "nodeGroups": [{"name": "spot", "minSize": 0, "maxSize": 6, "desiredCapacity": 3, "labels": {"role": "web"},
                              "instancesDistribution": {"instanceTypes": ["c5.large", "c5a.large"], "onDemandBaseCapacity": 0,
                                                        "onDemandPercentageAboveBaseCapacity": 0, "spotAllocationStrategy": "price-capacity-optimized"},
                              "taints": [{"key": "spot", "value": "true", "effect": "NoSchedule"}]},
                             {"name": "mixed", "desiredCapacity": 2, "instancesDistribution": {"instanceTypes": ["m5.large"], "onDemandPercentageAboveBaseCapacity": 50}}],
              "managedNodeGroups": [{"name": "mng", "instanceTypes": ["m5.xlarge"], "spot": True, "taints": {"batch": "yes:NoExecute"}}]}
    cluster = twin_cluster(config)
    assert (cluster.name, cluster.region, cluster.zones) == ("shop", "eu-west-1", ("eu-west-1a", "eu-west-1b"))
    spot, mixed, mng = cluster.groups
    assert (spot.instance_types, spot.desired, spot.min_size, spot.max_size, spot.spot, spot.allocation_strategy) == \
        (["c5.large", "c5a.large"], 3, 0, 6, True, "price-capacity-optimized")
    assert spot.labels == {"role": "web"} and spot.taints == {"spot": "true:NoSchedule"}
    assert not mixed.spot and (mixed.desired, mixed.max_size) == (2, 2)  # an on-demand share above the base: not all Spot
    assert mng.spot and mng.taints == {"batch": "yes:NoExecute"} and mng.tags()["eks:nodegroup-name"] == "mng"
    assert (mng.desired, mng.min_size) == (2, 2)  # eksctl's defaults: 2 nodes


def test_the_reference_clusters_config_reads_whole():
    cluster = twin_cluster(yaml.safe_load(FIXTURE.read_text()))
    assert [g.name for g in cluster.groups] == ["prod-4vcpu-16gb-spot", "prod-8vcpu-32gb-spot", "ng-ondemand"]
    assert [g.spot for g in cluster.groups] == [True, True, False]


def test_sizes_that_cannot_hold_name_the_group():
    with pytest.raises(NodeGroupConfigError, match="node group web: minSize 3 <= desiredCapacity 1"):
        twin_cluster({"nodeGroups": [{"name": "web", "minSize": 3, "desiredCapacity": 1, "maxSize": 4}]})


def test_the_groups_are_tagged_and_distributed_as_eksctl_and_eks_make_them():
    """Cluster Autoscaler's discovery tags only where eksctl (withAddonPolicies.autoScaler) or EKS (a
    managed group) puts them, the Spot share and base as written, Capacity Rebalancing as EKS and the
    config set it, and each group in its own zones.  (Labels stay node-template tags: the simulator
    gives nodes their labels from them.)"""
    config = {"metadata": {"name": "shop"}, "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"],
              "nodeGroups": [{"name": "plain", "labels": {"role": "web"}},
                             {"name": "tagged", "iam": {"withAddonPolicies": {"autoScaler": True}}, "propagateASGTags": True, "labels": {"role": "web"},
                              "availabilityZones": ["us-east-1d"], "capacityRebalance": True,
                              "instancesDistribution": {"instanceTypes": ["m5.large", "m5a.large"], "onDemandBaseCapacity": 1,
                                                        "onDemandPercentageAboveBaseCapacity": 25}}],
              "managedNodeGroups": [{"name": "mng", "spot": True, "instanceTypes": ["m5.large"]}]}
    cluster = twin_cluster(config)
    plain, tagged, mng = cluster.groups
    assert "k8s.io/cluster-autoscaler/enabled" not in plain.tags() and plain.tags()["k8s.io/cluster-autoscaler/node-template/label/role"] == "web"
    assert tagged.tags()["k8s.io/cluster-autoscaler/enabled"] == "true" and tagged.tags()["k8s.io/cluster-autoscaler/node-template/label/role"] == "web"
    assert mng.tags()["k8s.io/cluster-autoscaler/shop"] == "owned"
    assert (tagged.on_demand_base, tagged.on_demand_above_base, tagged.spot) == (1, 25, False)
    assert (plain.capacity_rebalance, tagged.capacity_rebalance, mng.capacity_rebalance) == (False, True, True)
    assert cluster.group_zones == {"plain": ("us-east-1a", "us-east-1b", "us-east-1c"), "tagged": ("us-east-1d",), "mng": ("us-east-1a", "us-east-1b", "us-east-1c")}
    assert cluster.zones == ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")


def test_any_ec2_instance_type_launches_and_a_misspelt_one_is_named_with_its_family():
    cluster = twin_cluster({"managedNodeGroups": [{"name": "spot", "spot": True, "instanceTypes": ["c5.large", "c6a.large", "c5ad.large"]}]})
    assert cluster.groups[0].instance_types == ["c5.large", "c6a.large", "c5ad.large"]
    assert lookup("c6a.large") == InstanceType("c6a.large", 2, 4096, 29)  # EC2's catalogue; max pods from its ENI limits
    with pytest.raises(NodeGroupConfigError, match=r"node group spot: instanceTypes: unknown instance type 'c5.larg'; c5 comes in .*c5\.large"):
        twin_cluster({"managedNodeGroups": [{"name": "spot", "spot": True, "instanceTypes": ["c5.large", "c5.larg"]}]})


def test_an_eksctl_config_with_a_group_that_cannot_launch_is_refused_when_read(tmp_path):
    config = tmp_path / "cluster.yaml"
    config.write_text("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: shop}\n"
                      "managedNodeGroups:\n  - {name: web, instanceType: m5.larg}\n")
    with pytest.raises(TwinInputError, match=r"--from-eksctl .*cluster.yaml': node group web: instanceType: unknown instance type 'm5.larg'"):
        read_inputs(config)
