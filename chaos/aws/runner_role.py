"""The in-cluster runner's IAM role, created or brought up to date from the files `render
--runner` writes: its trust policy (the runner's service account through the cluster's OIDC
provider) and its inline least-privilege policy.  The cluster's OIDC issuer comes from EKS when
not given."""

from __future__ import annotations

import json
from typing import Any

import boto3

from chaos.aws.faults import aws_retry

POLICY_NAME = "spotchaos-runner"


@aws_retry
def oidc_issuer(cluster: str, region: str) -> str:
    eks = boto3.client("eks", region_name=region)
    return str(eks.describe_cluster(name=cluster)["cluster"]["identity"]["oidc"]["issuer"])


@aws_retry
def ensure_runner_role(name: str, trust: dict[str, Any], policy: dict[str, Any], tags: dict[str, str], region: str) -> tuple[str, bool]:
    """(the role's ARN, whether this call created it); an existing role gets today's trust and policy."""
    iam = boto3.client("iam", region_name=region)
    try:
        arn = str(iam.get_role(RoleName=name)["Role"]["Arn"])
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        created = False
    except iam.exceptions.NoSuchEntityException:
        arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description="spotchaos in-cluster runner",
                                  Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["Role"]["Arn"])
        created = True
    iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
    return arn, created
