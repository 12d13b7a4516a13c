"""The EKS control plane: the cluster (waited on until ACTIVE), its OIDC provider for IRSA, and
a kubeconfig that reaches it through `aws eks get-token`, as `aws eks update-kubeconfig` writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cluster.aws.owner import owned_by, owner_tag_map, owner_tags

# The root CA thumbprint of EKS's OIDC issuers; IAM no longer checks it for them but the API
# of older partitions still wants one.
EKS_OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


def ensure_cluster(eks: Any, name: str, version: str, role_arn: str, subnet_ids: Sequence[str], wait_delay: float = 30.0,
                   extra_tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Create the cluster unless it exists, then wait until it is ACTIVE; returns DescribeCluster's cluster."""
    try:
        eks.describe_cluster(name=name)
    except eks.exceptions.ResourceNotFoundException:
        eks.create_cluster(
            name=name, version=version, roleArn=role_arn, tags=owner_tag_map(name, extra_tags),
            resourcesVpcConfig={"subnetIds": list(subnet_ids), "endpointPublicAccess": True, "endpointPrivateAccess": True},
            accessConfig={"authenticationMode": "API_AND_CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True},
        )
    # EKS takes ~10 minutes: poll every wait_delay seconds for up to 30 minutes
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig={"Delay": wait_delay, "MaxAttempts": max(1, int(1800 / max(wait_delay, 1)))})
    return dict(eks.describe_cluster(name=name)["cluster"])


def ensure_oidc_provider(iam: Any, cluster: str, issuer: str, extra_tags: Mapping[str, str] | None = None) -> str:
    host = issuer.removeprefix("https://")
    for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        if p["Arn"].endswith(f"oidc-provider/{host}"):
            return str(p["Arn"])
    return str(iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[EKS_OIDC_THUMBPRINT],
                                                   Tags=owner_tags(cluster, extra_tags))["OpenIDConnectProviderArn"])


def kubeconfig(cluster: dict[str, Any], region: str) -> dict[str, Any]:
    """A kubeconfig with one context named after the cluster; credentials from `aws eks get-token`."""
    name = cluster["name"]
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": cluster["endpoint"], "certificate-authority-data": cluster["certificateAuthority"]["data"]}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["--region", region, "eks", "get-token", "--cluster-name", name, "--output", "json"],
            "interactiveMode": "Never"}}}],
    }


def delete_cluster(eks: Any, name: str, wait_delay: float = 30.0) -> list[str]:
    """Delete the cluster when it is ours (its node groups first); waits until it is gone."""
    try:
        found = eks.describe_cluster(name=name)["cluster"]
    except eks.exceptions.ResourceNotFoundException:
        return []
    if not owned_by(found.get("tags"), name):
        return []
    done = []
    for ng in eks.list_nodegroups(clusterName=name).get("nodegroups", []):
        eks.delete_nodegroup(clusterName=name, nodegroupName=ng)
        eks.get_waiter("nodegroup_deleted").wait(clusterName=name, nodegroupName=ng, WaiterConfig={"Delay": wait_delay, "MaxAttempts": 60})
        done.append(f"eks node group {ng}")
    eks.delete_cluster(name=name)
    eks.get_waiter("cluster_deleted").wait(name=name, WaiterConfig={"Delay": wait_delay, "MaxAttempts": max(1, int(1800 / max(wait_delay, 1)))})
    return [*done, f"eks cluster {name}"]


def delete_oidc_providers(iam: Any, cluster: str) -> list[str]:
    done = []
    for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        if owned_by(iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=p["Arn"]).get("Tags"), cluster):
            iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"])
            done.append(f"oidc provider {p['Arn'].rsplit('/', 1)[-1]}")
    return done
