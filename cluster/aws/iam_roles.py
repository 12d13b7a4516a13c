"""The cluster's IAM roles as data (trust, managed and inline policies) and the calls that make
and remove them.  Service roles: the EKS control plane, the nodes (with an instance profile) and
FIS's experiment role.  IRSA roles, trusted through the cluster's OIDC provider: Cluster
Autoscaler, the AWS Load Balancer Controller, NTH in queue mode, and the model's S3 read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from cluster import resource_names as names
from cluster.aws.owner import owned_by, owner_tags
from cluster.profiles import ClusterProfile

AWS_POLICY = "arn:aws:iam::aws:policy/"
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore")

# Cluster Autoscaler's recommended policy: read everything, change only the cluster's own groups
CA_POLICY = [
    {"Effect": "Allow", "Resource": "*", "Action": [
        "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup"]},
]
NTH_POLICY = [
    {"Effect": "Allow", "Resource": "*", "Action": [
        "autoscaling:CompleteLifecycleAction", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeTags",
        "ec2:DescribeInstances", "sqs:DeleteMessage", "sqs:ReceiveMessage"]},
]
# Karpenter's controller policy, condensed from the getting-started CloudFormation (KPA
# website/.../getting-started-with-karpenter/cloudformation.yaml): launch and end its instances,
# read prices and AMIs, pass the node role, read and delete its interruption queue's messages.
KARPENTER_POLICY = [
    {"Effect": "Allow", "Resource": "*", "Action": [
        "ec2:CreateFleet", "ec2:RunInstances", "ec2:CreateLaunchTemplate", "ec2:DeleteLaunchTemplate", "ec2:CreateTags", "ec2:TerminateInstances",
        "ec2:DescribeAvailabilityZones", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets", "ec2:DescribeCapacityReservations",
        "pricing:GetProducts", "ssm:GetParameter", "eks:DescribeCluster",
        "iam:GetInstanceProfile", "iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile", "iam:ListInstanceProfiles"]},
    {"Effect": "Allow", "Resource": "*", "Action": ["iam:PassRole"], "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com"]}}},
    {"Effect": "Allow", "Resource": "*", "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]},
]
# The controller's published iam_policy.json grants these families; this is its shape condensed
# (the same services, describe-everything, create/modify only what carries the elbv2.k8s.aws/cluster tag).
LBC_POLICY = [
    {"Effect": "Allow", "Resource": "*", "Action": ["iam:CreateServiceLinkedRole"],
     "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
    {"Effect": "Allow", "Resource": "*", "Action": [
        "ec2:Describe*", "ec2:GetCoipPoolUsage", "elasticloadbalancing:Describe*", "acm:ListCertificates", "acm:DescribeCertificate",
        "iam:ListServerCertificates", "iam:GetServerCertificate", "cognito-idp:DescribeUserPoolClient", "waf-regional:GetWebACL",
        "waf-regional:GetWebACLForResource", "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "shield:GetSubscriptionState",
        "shield:DescribeProtection"]},
    {"Effect": "Allow", "Resource": "*", "Action": [
        "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:CreateSecurityGroup", "ec2:CreateTags",
        "ec2:DeleteTags", "ec2:DeleteSecurityGroup", "elasticloadbalancing:*"]},
]


@dataclass(frozen=True)
class RoleSpec:
    purpose: str  # names.* constant; the role is `<cluster>-<purpose>`
    trust: dict[str, Any]
    managed: tuple[str, ...] = ()
    inline: list[dict[str, Any]] = field(default_factory=list)
    instance_profile: bool = False

    def describe(self, cluster: str) -> str:
        who = self.trust["Statement"][0]["Principal"]
        principal = who.get("Service") or f"service account {self.trust['Statement'][0]['Condition']['StringEquals'].get(_sub_key(self.trust), '')}"
        parts = [f"iam CreateRole {names.role_name(cluster, self.purpose)} (trusts {principal})"]
        parts += [f"AttachRolePolicy {m.removeprefix(AWS_POLICY)}" for m in self.managed]
        if self.inline:
            parts.append("PutRolePolicy (inline)")
        if self.instance_profile:
            parts.append("CreateInstanceProfile")
        return " + ".join(parts)


def _sub_key(trust: dict[str, Any]) -> str:
    return next((k for k in trust["Statement"][0].get("Condition", {}).get("StringEquals", {}) if k.endswith(":sub")), "")


def service_trust(service: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def irsa_trust(account: str, issuer: str, namespace: str, service_account: str) -> dict[str, Any]:
    host = issuer.removeprefix("https://")
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{host}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}", f"{host}:aud": "sts.amazonaws.com"}},
    }]}


def service_roles() -> list[RoleSpec]:
    return [
        RoleSpec(names.CLUSTER_ROLE, service_trust("eks.amazonaws.com"), (AWS_POLICY + "AmazonEKSClusterPolicy",)),
        RoleSpec(names.NODE_ROLE, service_trust("ec2.amazonaws.com"), tuple(AWS_POLICY + p for p in NODE_POLICIES), instance_profile=True),
        RoleSpec(names.FIS_ROLE, service_trust("fis.amazonaws.com"), (AWS_POLICY + "service-role/AWSFaultInjectionSimulatorEC2Access",)),
    ]


def _model_bucket(base_path: str) -> str:
    return urlparse(base_path).netloc


def irsa_roles(profile: ClusterProfile, account: str, issuer: str) -> list[RoleSpec]:
    from cluster.manifests import cluster_autoscaler, nth, serving
    from cluster.manifests.controllers import LBC_NAME

    ca_scoped = {"Effect": "Allow", "Resource": "*", "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                 "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{profile.name}": "owned"}}}
    roles = [
        RoleSpec(names.CA_ROLE, irsa_trust(account, issuer, "kube-system", cluster_autoscaler.NAME), inline=[*CA_POLICY, ca_scoped]),
        RoleSpec(names.LBC_ROLE, irsa_trust(account, issuer, "kube-system", LBC_NAME), inline=LBC_POLICY),
    ]
    if profile.nth.mode == "queue":
        roles.append(RoleSpec(names.NTH_ROLE, irsa_trust(account, issuer, "kube-system", nth.NAME), inline=NTH_POLICY))
    if profile.karpenter is not None:
        roles.append(RoleSpec(names.KARPENTER_ROLE, irsa_trust(account, issuer, "kube-system", "karpenter"), inline=KARPENTER_POLICY))
    sp = profile.serving
    if sp.s3_credentials == "irsa":
        bucket = _model_bucket(sp.model_base_path)
        roles.append(RoleSpec(names.MODEL_READ_ROLE, irsa_trust(account, issuer, sp.namespace, serving.SERVICE_ACCOUNT), inline=[
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{bucket}"},
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{bucket}/*"}]))
    return roles


def ensure_roles(iam: Any, cluster: str, specs: list[RoleSpec], extra_tags: Mapping[str, str] | None = None) -> dict[str, str]:
    """Create each role (an existing one of ours is kept); returns purpose -> role ARN."""
    arns: dict[str, str] = {}
    for spec in specs:
        name = names.role_name(cluster, spec.purpose)
        try:
            arns[spec.purpose] = iam.get_role(RoleName=name)["Role"]["Arn"]
            continue
        except iam.exceptions.NoSuchEntityException:
            pass
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(spec.trust), Tags=owner_tags(cluster, extra_tags),
                               Description=f"spotchaos {cluster}: {spec.purpose}")["Role"]
        for policy in spec.managed:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy)
        if spec.inline:
            iam.put_role_policy(RoleName=name, PolicyName=spec.purpose, PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": spec.inline}))
        if spec.instance_profile:
            iam.create_instance_profile(InstanceProfileName=name, Tags=owner_tags(cluster, extra_tags))
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        arns[spec.purpose] = role["Arn"]
    return arns


def instance_profile_arn(iam: Any, cluster: str) -> str:
    return str(iam.get_instance_profile(InstanceProfileName=names.role_name(cluster, names.NODE_ROLE))["InstanceProfile"]["Arn"])


def delete_roles(iam: Any, cluster: str) -> list[str]:
    """Every role tagged for `cluster`: out of its instance profiles, policies detached, then deleted."""
    done = []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name = role["RoleName"]
            if not owned_by(iam.list_role_tags(RoleName=name).get("Tags"), cluster):
                continue
            for profile in iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]:
                iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
                iam.delete_instance_profile(InstanceProfileName=profile["InstanceProfileName"])
                done.append(f"instance profile {profile['InstanceProfileName']}")
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy)
            iam.delete_role(RoleName=name)
            done.append(f"iam role {name}")
    return done
