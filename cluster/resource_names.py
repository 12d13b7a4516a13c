"""Names of the IAM roles a cluster gets, shared by the AWS calls and the manifests that point
at them (IRSA annotations, aws-auth), so the two can never disagree."""

from __future__ import annotations

ROLE_NAME_MAX = 64  # IAM's limit
DEFAULT_ACCOUNT = "123456789012"  # moto's account: what STS answers on the local simulator

CLUSTER_ROLE = "eks-cluster"
NODE_ROLE = "node"
FIS_ROLE = "fis"
CA_ROLE = "cluster-autoscaler"
LBC_ROLE = "aws-load-balancer-controller"
NTH_ROLE = "node-termination-handler"
KARPENTER_ROLE = "karpenter"
MODEL_READ_ROLE = "resnet-s3-read"


def role_name(cluster: str, purpose: str) -> str:
    """`<cluster>-<purpose>`, the cluster part shortened so the whole fits IAM's 64 characters."""
    room = ROLE_NAME_MAX - len(purpose) - 1
    return f"{cluster[:room]}-{purpose}"


def role_arn(account: str, cluster: str, purpose: str) -> str:
    return f"arn:aws:iam::{account}:role/{role_name(cluster, purpose)}"


def nth_queue_name(cluster: str) -> str:
    return f"{cluster}-nth"[:80]


def karpenter_queue_name(cluster: str) -> str:
    """Karpenter's getting-started CloudFormation names the queue after the cluster."""
    return cluster[:80]


def nth_queue_url(region: str, account: str, cluster: str) -> str:
    return f"https://sqs.{region}.amazonaws.com/{account}/{nth_queue_name(cluster)}"
