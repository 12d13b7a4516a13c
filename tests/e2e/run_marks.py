"""What of a cluster a run provisioned still carries the run's id, read through the real APIs:
its tag on AWS resources, its label on Kubernetes objects.  Shared by the crash-safety tests and
bench/kill_points.py."""

from __future__ import annotations

from chaos.identity import RUN_ID_TAG, run_selector
from tests.conftest import SimProcess


def marked_by_run(sim: SimProcess, run_id: str) -> dict[str, list[str]]:
    """What of the provisioned cluster carries the run's id: its tag on AWS resources, its label on Kubernetes objects."""
    ec2, iam = sim.aws("ec2"), sim.aws("iam")
    tagged = [{"Name": f"tag:{RUN_ID_TAG}", "Values": [run_id]}]

    def mine(tags) -> bool:
        return any(t["Key"] == RUN_ID_TAG and t["Value"] == run_id for t in tags or [])

    found = {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=tagged)["Vpcs"]],
        "subnets": [v["SubnetId"] for v in ec2.describe_subnets(Filters=tagged)["Subnets"]],
        "internet gateways": [v["InternetGatewayId"] for v in ec2.describe_internet_gateways(Filters=tagged)["InternetGateways"]],
        "route tables": [v["RouteTableId"] for v in ec2.describe_route_tables(Filters=tagged)["RouteTables"]],
        "security groups": [v["GroupId"] for v in ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]],
        "launch templates": [v["LaunchTemplateName"] for v in ec2.describe_launch_templates(Filters=tagged)["LaunchTemplates"]],
        "auto scaling groups": [g["AutoScalingGroupName"] for g in sim.aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] if mine(g["Tags"])],
        "iam roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if mine(iam.list_role_tags(RoleName=r["RoleName"])["Tags"])],
        "instance profiles": [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"] if mine(p.get("Tags"))],
        "oidc providers": [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
                           if mine(iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=p["Arn"])["Tags"])],
    }
    eks = sim.aws("eks")
    found["eks clusters"] = [c for c in eks.list_clusters()["clusters"] if (eks.describe_cluster(name=c)["cluster"].get("tags") or {}).get(RUN_ID_TAG) == run_id]
    from cluster.kube_discovery import dynamic_client

    client = dynamic_client(sim.kube()[3])
    for api_version, kind in (("apps/v1", "Deployment"), ("v1", "Service"), ("networking.k8s.io/v1", "Ingress"), ("v1", "ServiceAccount"),
                              ("apps/v1", "DaemonSet"), ("policy/v1", "PodDisruptionBudget")):
        items = client.resources.get(api_version=api_version, kind=kind).get(label_selector=run_selector(run_id)).items
        found[f"kubernetes {kind}"] = [f"{i.metadata.namespace}/{i.metadata.name}" for i in items]
    return found
