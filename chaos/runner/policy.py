"""The least-privilege IAM policy of the in-cluster runner: every AWS action a run on EKS makes,
each with why, scoped where AWS allows it, and the actions the harness has that a run never makes
(with why they stay out).  A test reads the harness's code for the AWS calls it makes and fails
when one is in neither list.  Pure."""

from __future__ import annotations

from typing import Any

from chaos.aws.upload_destination import S3Destination

# botocore's service name -> IAM's action prefix
IAM_PREFIX = {"ec2": "ec2", "autoscaling": "autoscaling", "elbv2": "elasticloadbalancing", "fis": "fis", "sqs": "sqs", "iam": "iam",
              "sts": "sts", "s3": "s3", "eks": "eks", "events": "events", "cloudwatch": "cloudwatch"}

# what a run on EKS calls: action -> why
RUN_ACTIONS: dict[str, str] = {
    "sts:GetCallerIdentity": "the guardrail: the account must be on target.allowed_accounts",
    "fis:GetSafetyLever": "refuse to start, and abort, while the account's safety lever is engaged",
    "fis:CreateExperimentTemplate": "each FIS injection's template",
    "fis:TagResource": "templates and experiments carry the run id (cleanup finds them by it)",
    "fis:StartExperiment": "each FIS injection",
    "fis:GetExperiment": "the FIS observer follows each experiment and its actions",
    "fis:StopExperiment": "rollback",
    "fis:DeleteExperimentTemplate": "rollback",
    "fis:ListExperiments": "rollback of an experiment whose id never came back: found by its run-id tag",
    "fis:ListExperimentTemplates": "likewise for templates",
    "ec2:DescribeInstances": "the instance observer (state changes, replacements)",
    "ec2:TerminateInstances": "via sqs: the reclaim a queued notice promises (only the cluster's instances)",
    "autoscaling:DescribeAutoScalingGroups": "the node groups: capacity errors' targets and the instance observer",
    "autoscaling:DescribeScalingActivities": "the scaling observer (replacements, launch failures)",
    "elasticloadbalancing:DescribeTargetGroups": "the target observer finds the service's target groups",
    "elasticloadbalancing:DescribeTags": "... and keeps those of the cluster",
    "elasticloadbalancing:DescribeTargetHealth": "the target observer (draining, deregistered, unhealthy)",
    "sqs:SendMessage": "via sqs: the notice on NTH's queue (or Karpenter's)",
    "sqs:GetQueueUrl": "via sqs on Karpenter: its queue's URL from the name its settings give",
    "iam:ListRoles": "a capacity error on a Karpenter NodePool: the role Karpenter launches with (FIS targets it); and `spotchaos cleanup --run-id`",
}
PASS_ROLE = "iam:PassRole"  # not a call of ours: what FIS checks when a template names target.fis_role_arn
UPLOAD = "s3:PutObject"  # --upload

# what the harness calls but a run on EKS never does: action -> why it stays out of the policy
NOT_IN_A_RUN: dict[str, str] = {
    "iam:CreateRole": "the FIS role is created for a run on the simulator only (on eks target.fis_role_arn is required), "
                      "and the runner's role by `render --runner --create-role`",
    "iam:GetRole": "likewise, and `render --runner --create-role`",
    "iam:DeleteRole": "likewise, and `spotchaos cleanup`",
    "iam:ListRoleTags": "`spotchaos cleanup --run-id` (a person's command, with their credentials)",
    "ec2:DescribeVpcs": "`spotchaos cleanup --run-id` finds a cluster it provisioned",
    "eks:ListClusters": "likewise",
    "eks:DescribeCluster": "likewise, and `render --runner --create-role` (the OIDC issuer)",
    "fis:UpdateSafetyLeverState": "`spotchaos safety-lever engage|release` is for a person running a game day",
    "iam:UpdateAssumeRolePolicy": "`render --runner --create-role`, run by a person setting the runner up",
    "iam:PutRolePolicy": "likewise",
    "cloudwatch:PutMetricData": "`run --metrics cloudwatch://NAMESPACE`, which the runner's CronJob does not pass (its results go to "
                                "--upload and --notify)",
}
# names in the harness's code that look like AWS operations and are not: (file, name) -> what they are
NOT_AWS: dict[tuple[str, str], str] = {
    ("chaos/load/engine.py", "create_connection"): "asyncio's loop.create_connection",
    ("chaos/provisioning.py", "delete_objects"): "cluster.provision's own function (provisioning is not the runner's)",
    ("chaos/provisioning.py", "describe_cluster"): "provisioning on EKS (`spotchaos provision`), not a run",
}


def runner_policy(account: str, region: str, cluster: str, fis_roles: str | list[str], upload: S3Destination | None = None) -> dict[str, Any]:
    """The IAM policy document the runner's role gets; `fis_roles`: the experiments' target.fis_role_arn."""
    describe = sorted(a for a in RUN_ACTIONS if a.split(":")[1].startswith(("Describe", "Get", "List")) and not a.startswith("fis:"))
    fis = sorted(a for a in RUN_ACTIONS if a.startswith("fis:"))
    statements: list[dict[str, Any]] = [
        {"Sid": "Observe", "Effect": "Allow", "Action": describe, "Resource": "*"},
        {"Sid": "Fis", "Effect": "Allow", "Action": fis, "Resource": "*"},
        {"Sid": "PassTheFisRole", "Effect": "Allow", "Action": PASS_ROLE, "Resource": fis_roles,
         "Condition": {"StringEquals": {"iam:PassedToService": "fis.amazonaws.com"}}},
        {"Sid": "ReclaimAfterAQueuedNotice", "Effect": "Allow", "Action": "ec2:TerminateInstances",
         "Resource": f"arn:aws:ec2:{region}:{account}:instance/*",
         "Condition": {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}}},
        {"Sid": "NoticeOnNthQueue", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:{region}:{account}:*"},
    ]
    if upload is not None:
        where = f"{upload.bucket}/{upload.prefix}/*" if upload.prefix else f"{upload.bucket}/*"
        statements.append({"Sid": "UploadResults", "Effect": "Allow", "Action": UPLOAD, "Resource": f"arn:aws:s3:::{where}"})
    return {"Version": "2012-10-17", "Statement": statements}


def allowed_actions(policy: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        out |= {actions} if isinstance(actions, str) else set(actions)
    return out
