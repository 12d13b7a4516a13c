"""The cluster's network beyond its subnets: an internet gateway and a public route for nodes
to reach ECR and S3, the nodes' security group; and the network's removal, last of all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cluster.aws.owner import OWNER_TAG, owner_tags


def _owned(cluster: str) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{OWNER_TAG}", "Values": [cluster]}]


def vpc_of(ec2: Any, subnet_ids: list[str]) -> str:
    return str(ec2.describe_subnets(SubnetIds=subnet_ids[:1])["Subnets"][0]["VpcId"])


def ensure_internet_route(ec2: Any, cluster: str, vpc_id: str, subnet_ids: list[str], extra_tags: Mapping[str, str] | None = None) -> None:
    """One internet gateway and a route table sending 0.0.0.0/0 to it, associated with every subnet."""
    if ec2.describe_internet_gateways(Filters=[*_owned(cluster), {"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]:
        return
    igw = ec2.create_internet_gateway(TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": owner_tags(cluster, extra_tags)}])["InternetGateway"]
    ec2.attach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id)
    table = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": owner_tags(cluster, extra_tags)}])["RouteTable"]
    ec2.create_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw["InternetGatewayId"])
    for subnet in subnet_ids:
        ec2.associate_route_table(RouteTableId=table["RouteTableId"], SubnetId=subnet)
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})


def ensure_node_security_group(ec2: Any, cluster: str, vpc_id: str, extra_tags: Mapping[str, str] | None = None) -> str:
    """Nodes talk to each other freely (pod and kubelet traffic) and leave to anywhere."""
    name = f"{cluster}-nodes"
    found = ec2.describe_security_groups(Filters=[*_owned(cluster), {"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    if found:
        return str(found[0]["GroupId"])
    group = ec2.create_security_group(GroupName=name, Description=f"spotchaos {cluster} nodes", VpcId=vpc_id,
                                      TagSpecifications=[{"ResourceType": "security-group", "Tags": [*owner_tags(cluster, extra_tags), {"Key": f"kubernetes.io/cluster/{cluster}", "Value": "owned"}]}])
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group["GroupId"]}]}])
    return str(group["GroupId"])


def delete_network(ec2: Any, cluster: str) -> list[str]:
    """Security groups, route tables, the internet gateway, subnets, then the VPC: once nothing runs in them."""
    done = []
    for sg in ec2.describe_security_groups(Filters=_owned(cluster))["SecurityGroups"]:
        ec2.delete_security_group(GroupId=sg["GroupId"])
        done.append(f"security group {sg['GroupId']}")
    for table in ec2.describe_route_tables(Filters=_owned(cluster))["RouteTables"]:
        for assoc in table.get("Associations", []):
            if not assoc.get("Main"):
                ec2.disassociate_route_table(AssociationId=assoc["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=table["RouteTableId"])
        done.append(f"route table {table['RouteTableId']}")
    for igw in ec2.describe_internet_gateways(Filters=_owned(cluster))["InternetGateways"]:
        for att in igw.get("Attachments", []):
            ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=att["VpcId"])
        ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
        done.append(f"internet gateway {igw['InternetGatewayId']}")
    for sn in ec2.describe_subnets(Filters=_owned(cluster))["Subnets"]:
        ec2.delete_subnet(SubnetId=sn["SubnetId"])
        done.append(f"subnet {sn['SubnetId']}")
    for vpc in ec2.describe_vpcs(Filters=_owned(cluster))["Vpcs"]:
        ec2.delete_vpc(VpcId=vpc["VpcId"])
        done.append(f"vpc {vpc['VpcId']}")
    return done
