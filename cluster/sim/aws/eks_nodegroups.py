"""EKS managed node groups as the EKS API lists them: ListNodegroups and DescribeNodegroup show,
besides what CreateNodegroup made, the Auto Scaling groups tagged as EKS tags the groups it
manages (`eks:cluster-name`, `eks:nodegroup-name`), which is what the simulator's managed node
groups are; for a cluster the EKS API knows (a cluster it does not know is
ResourceNotFoundException, where moto answered 500)."""

from __future__ import annotations

from typing import Any

from moto.eks.exceptions import ResourceNotFoundException
from moto.eks.models import EKSBackend, Nodegroup, paginated_list
from moto.utilities.utils import get_partition

from cluster.sim.aws.autoscaling import AutoScalingSim
from cluster.sim.aws.moto_patches import MotoPatches
from cluster.sim.aws.moto_server import backend

CLUSTER_TAG = "eks:cluster-name"
NODEGROUP_TAG = "eks:nodegroup-name"
LABEL_TAG = "k8s.io/cluster-autoscaler/node-template/label/"


def _not_found(cluster: str, nodegroup: str | None = None) -> ResourceNotFoundException:
    return ResourceNotFoundException(clusterName=cluster, nodegroupName=nodegroup, fargateProfileName=None, addonName=None,
                                     message=f"No cluster found for name: {cluster}.")


def install(patches: MotoPatches, autoscaling: AutoScalingSim) -> None:
    made: dict[tuple[str, str], Nodegroup] = {}  # (cluster, ASG) -> its node group, kept so its ARN and creation time hold

    def managed(eks: EKSBackend, cluster: str) -> dict[str, Nodegroup]:
        out: dict[str, Nodegroup] = {}
        for group in list(backend("autoscaling", eks.region_name).autoscaling_groups.values()):
            tags = {t["Key"]: t["Value"] for t in group.tags}
            name = tags.get(NODEGROUP_TAG)
            if not name or tags.get(CLUSTER_TAG) != cluster:
                continue
            ng = made.get((cluster, group.name))
            if ng is None:
                ng = made[(cluster, group.name)] = Nodegroup(
                    cluster, f"arn:{get_partition(eks.region_name)}:iam::{eks.account_id}:role/{cluster}-{name}-node", name,
                    [s for s in (group.vpc_zone_identifier or "").split(",") if s], eks.account_id, eks.region_name,
                    get_partition(eks.region_name), launch_template={})
            types, _, base, above = autoscaling.policy(group)
            ng.scaling_config = {"minSize": group.min_size, "maxSize": group.max_size, "desiredSize": group.desired_capacity}
            ng.instance_types = types
            ng.capacity_type = "SPOT" if base == 0 and above == 0 else "ON_DEMAND"
            ng.labels = {k[len(LABEL_TAG):]: v for k, v in tags.items() if k.startswith(LABEL_TAG)}
            ng.tags = {k: v for k, v in tags.items() if not k.startswith(("eks:", "k8s.io/", "aws:"))}
            ng.resources = {"autoScalingGroups": [{"name": group.name}]}
            out[name] = ng
        return out

    def list_nodegroups(eks: EKSBackend, cluster_name: str, max_results: int, next_token: str | None) -> Any:
        cluster = eks.clusters.get(cluster_name)
        if cluster is None:
            raise _not_found(cluster_name)
        names = list(cluster.nodegroups) + [n for n in managed(eks, cluster_name) if n not in cluster.nodegroups]
        return paginated_list(names, max_results, next_token)

    describe = EKSBackend.describe_nodegroup

    def describe_nodegroup(eks: EKSBackend, cluster_name: str, nodegroup_name: str) -> Nodegroup:
        cluster = eks.clusters.get(cluster_name)
        if cluster is not None and nodegroup_name not in cluster.nodegroups:
            found = managed(eks, cluster_name).get(nodegroup_name)
            if found is not None:
                return found
        return describe(eks, cluster_name, nodegroup_name)

    patches.replace(EKSBackend, "list_nodegroups", list_nodegroups)
    patches.replace(EKSBackend, "describe_nodegroup", describe_nodegroup)
