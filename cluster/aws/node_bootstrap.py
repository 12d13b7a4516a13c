"""How a self-managed node joins the cluster: the EKS-optimized AMI for the Kubernetes version
(from its public SSM parameter) and AL2023 user data (a nodeadm NodeConfig) carrying the
cluster's endpoint and CA and the node group's labels."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import yaml

AMI_PARAMETER = "/aws/service/eks/optimized-ami/{version}/amazon-linux-2023/x86_64/standard/recommended/image_id"
BOUNDARY = "//spotchaos//"


class BootstrapError(RuntimeError):
    """Nodes cannot be bootstrapped as asked; the message says what to give."""


def eks_ami(ssm: Any, version: str, region: str) -> str:
    name = AMI_PARAMETER.format(version=version)
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        raise BootstrapError(f"no EKS-optimized AL2023 AMI for Kubernetes {version} in {region} (SSM {name}); give one with --ami") from None


def node_config(cluster: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"cluster": {
        "name": cluster["name"], "apiServerEndpoint": cluster["endpoint"],
        "certificateAuthority": cluster["certificateAuthority"]["data"],
        "cidr": (cluster.get("kubernetesNetworkConfig") or {}).get("serviceIpv4Cidr", "10.100.0.0/16"),
    }}
    if labels:
        spec["kubelet"] = {"flags": ["--node-labels=" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))]}
    return {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": spec}


def user_data(cluster: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """Base64 MIME multipart user data with one application/node.eks.aws part, as launch templates take it."""
    body = (f"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\n\n--{BOUNDARY}\n"
            f"Content-Type: application/node.eks.aws\n\n---\n{yaml.safe_dump(node_config(cluster, labels), sort_keys=False)}\n--{BOUNDARY}--\n")
    return base64.b64encode(body.encode()).decode()
