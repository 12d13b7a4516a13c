"""EKS-style self-managed node groups through the AWS API: a VPC with one subnet per AZ, a
launch template and an Auto Scaling group tagged the way eksctl tags them (cluster ownership,
Cluster Autoscaler auto-discovery, node-template labels and taints)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cluster.endpoints import SIMULATOR_KEY_ID, SIMULATOR_SECRET

SEED_4VCPU = ("m5.xlarge", "m5d.xlarge", "m4.xlarge", "t3.xlarge", "t3a.xlarge", "m5a.xlarge", "t2.xlarge")
SEED_8VCPU = ("m5.2xlarge", "m5n.2xlarge", "m5d.2xlarge", "m5dn.2xlarge", "m5a.2xlarge", "m4.2xlarge")
EKS_AMI = "ami-0eks00000000000a1"  # any id: moto does not check AMIs unless asked


@dataclass(frozen=True)
class NodeGroupSpec:
    name: str
    cluster: str
    instance_types: Sequence[str]
    desired: int
    min_size: int = 0
    max_size: int = 15
    spot: bool = True
    allocation_strategy: str = "capacity-optimized"
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Mapping[str, str] = field(default_factory=dict)  # key -> "value:Effect"
    extra_tags: Mapping[str, str] = field(default_factory=dict)  # e.g. spotchaos:cluster=<name>
    launch: Mapping[str, Any] = field(default_factory=dict)  # more LaunchTemplateData: AMI, user data, instance profile, groups
    discovery_tags: bool = True  # Cluster Autoscaler's auto-discovery tags (eksctl: withAddonPolicies.autoScaler; EKS: managed groups)
    template_tags: bool = True  # the labels and taints as CA node-template tags (eksctl: propagateASGTags)
    on_demand_base: int | None = None  # OnDemandBaseCapacity (None: 0 for Spot, every instance for on-demand)
    on_demand_above_base: int | None = None  # OnDemandPercentageAboveBaseCapacity (None: 0 for Spot, 100 for on-demand)
    capacity_rebalance: bool = False

    def tags(self) -> dict[str, str]:
        tags = {f"kubernetes.io/cluster/{self.cluster}": "owned", "alpha.eksctl.io/nodegroup-name": self.name, "eks:cluster-name": self.cluster}
        if self.discovery_tags:
            tags |= {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{self.cluster}": "owned"}
        if self.template_tags:
            tags.update({f"k8s.io/cluster-autoscaler/node-template/label/{k}": v for k, v in self.labels.items()})
            tags.update({f"k8s.io/cluster-autoscaler/node-template/taint/{k}": v for k, v in self.taints.items()})
        tags.update(self.extra_tags)
        return tags


def ensure_network(ec2: Any, cluster: str, azs: Sequence[str], cidr: str | None = None, extra_tags: Mapping[str, str] | None = None) -> list[str]:
    """A VPC with one subnet per AZ, tagged for the cluster and for internet-facing load balancers; returns the subnet ids.
    Without `cidr`, the first 10.N.0.0/16 no VPC of the account uses: each cluster of one simulator
    gets addresses of its own, so its nodes (named after their private addresses) never take
    another cluster's node names."""
    found = ec2.describe_subnets(Filters=[{"Name": f"tag:kubernetes.io/cluster/{cluster}", "Values": ["owned", "shared"]}])["Subnets"]
    if found:
        return [s["SubnetId"] for s in sorted(found, key=lambda s: s["AvailabilityZone"])]
    if cidr is None:
        used = {v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]}
        cidr = next(c for c in (f"10.{n}.0.0/16" for n in range(256)) if c not in used)
    more = [{"Key": k, "Value": v} for k, v in (extra_tags or {}).items()]
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": f"{cluster}-vpc"}, {"Key": f"kubernetes.io/cluster/{cluster}", "Value": "owned"}, *more]}])["Vpc"]
    base = cidr.split(".")
    subnets = []
    for i, az in enumerate(azs):
        sn = ec2.create_subnet(
            VpcId=vpc["VpcId"], CidrBlock=f"{base[0]}.{base[1]}.{i * 32}.0/19", AvailabilityZone=az,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": f"kubernetes.io/cluster/{cluster}", "Value": "owned"}, {"Key": "kubernetes.io/role/elb", "Value": "1"}, *more]}],
        )["Subnet"]
        subnets.append(sn["SubnetId"])
    return subnets


def group_name(cluster: str, group: str) -> str:
    """The Auto Scaling group of a node group, named as eksctl names the groups it makes."""
    return f"eks-{cluster}-{group}"


def create_node_group(ec2: Any, autoscaling: Any, spec: NodeGroupSpec, subnet_ids: Sequence[str]) -> str:
    """Launch template + ASG with a MixedInstancesPolicy (Spot) or a single type (on-demand)."""
    lt_name = f"{spec.cluster}-{spec.name}"
    ec2.create_launch_template(
        LaunchTemplateName=lt_name,
        LaunchTemplateData={"ImageId": EKS_AMI, "InstanceType": spec.instance_types[0], **spec.launch},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": k, "Value": v} for k, v in spec.extra_tags.items()]}] if spec.extra_tags else [],
    )
    asg_name = group_name(spec.cluster, spec.name)
    tags = [{"Key": k, "Value": v, "PropagateAtLaunch": k.startswith("kubernetes.io/cluster/")} for k, v in spec.tags().items()]
    kwargs: dict[str, Any] = dict(
        AutoScalingGroupName=asg_name,
        MinSize=spec.min_size,
        MaxSize=spec.max_size,
        DesiredCapacity=spec.desired,
        VPCZoneIdentifier=",".join(subnet_ids),
        Tags=tags,
    )
    if spec.spot or len(spec.instance_types) > 1 or spec.on_demand_above_base is not None or spec.on_demand_base is not None:
        kwargs["MixedInstancesPolicy"] = {
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateName": lt_name, "Version": "$Latest"},
                "Overrides": [{"InstanceType": t} for t in spec.instance_types],
            },
            "InstancesDistribution": {
                "OnDemandBaseCapacity": spec.on_demand_base if spec.on_demand_base is not None else 0 if spec.spot else spec.max_size,
                "OnDemandPercentageAboveBaseCapacity": spec.on_demand_above_base if spec.on_demand_above_base is not None else 0 if spec.spot else 100,
                "SpotAllocationStrategy": spec.allocation_strategy,
            },
        }
    else:
        kwargs["LaunchTemplate"] = {"LaunchTemplateName": lt_name, "Version": "$Latest"}
    if spec.capacity_rebalance:
        kwargs["CapacityRebalance"] = True
    autoscaling.create_auto_scaling_group(**kwargs)
    return asg_name


def aws_clients(endpoint_url: str | None, region: str) -> tuple[Any, Any]:
    import boto3

    kw: dict[str, Any] = {"region_name": region}
    if endpoint_url:
        kw.update(endpoint_url=endpoint_url, aws_access_key_id=SIMULATOR_KEY_ID, aws_secret_access_key=SIMULATOR_SECRET)
    return boto3.client("ec2", **kw), boto3.client("autoscaling", **kw)


def create_demo_node_group(endpoint_url: str | None, region: str, nodes: int, cluster: str = "spotchaos-demo") -> str:
    """A small diversified Spot node group like the seed's 4 vCPU / 16 GiB group."""
    ec2, asg = aws_clients(endpoint_url, region)
    azs = [f"{region}a", f"{region}b", f"{region}c"]
    subnets = ensure_network(ec2, cluster, azs)
    spec = NodeGroupSpec("demo-4vcpu-16gb-spot", cluster, SEED_4VCPU, desired=nodes, max_size=max(15, nodes), labels={"lifecycle": "Ec2Spot", "intent": "apps"})
    return create_node_group(ec2, asg, spec, subnets)
