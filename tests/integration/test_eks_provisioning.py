"""`spotchaos provision --target eks` and `teardown --target eks`: the boto3 path that builds a real
EKS cluster, run as users run it (the CLI, boto3 reading AWS_ENDPOINT_URL) against moto's server
on loopback.  AWS itself cannot run here, so moto stands in for it; the Kubernetes half on EKS
(applying the manifests through `aws eks get-token`) needs a real cluster and is left out
(--aws-only): the same manifests are applied to the simulator in test_provision."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from cluster.aws.interruption_queues import NTH_RULES
from cluster.aws.owner import OWNER_TAG

NAME = "spotchaos-eks-test"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # real accounts have AWS's managed policies
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def aws(moto_url: str, service: str):
    return boto3.client(service, endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


def spotchaos(moto_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": REGION, "PATH": os.environ.get("PATH", "")}
    return subprocess.run([sys.executable, "-m", "chaos.cli", *args], capture_output=True, text=True, timeout=300, env=env)


def _tags(items) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def test_dry_run_prints_the_aws_calls_and_manifests_and_creates_nothing(moto_url: str) -> None:
    # the module's tests share one moto, in whatever order the workers take them: what was there before stays as it was
    clusters_before, roles_before = aws(moto_url, "eks").list_clusters()["clusters"], aws(moto_url, "iam").list_roles()["Roles"]
    run = spotchaos(moto_url, "provision", "--target", "eks", "--profile", "hardened", "--name", NAME, "--dry-run")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(f"eks CreateCluster {NAME}" in line for line in lines)
    assert any(f"iam CreateRole {NAME}-fis (trusts fis.amazonaws.com)" in line for line in lines)
    assert any(f"{NAME}-cluster-autoscaler" in line and "service account" in line for line in lines)
    assert any(line.startswith("kubernetes: create Deployment kube-system/aws-node-termination-handler") or "DaemonSet kube-system/aws-node-termination-handler" in line for line in lines)
    assert aws(moto_url, "eks").list_clusters()["clusters"] == clusters_before and NAME not in clusters_before
    assert aws(moto_url, "iam").list_roles()["Roles"] == roles_before and not [r for r in roles_before if r["RoleName"].startswith(NAME)]


def test_eks_cluster_is_built_tagged_and_torn_down_to_nothing(moto_url: str, tmp_path: Path) -> None:
    profile = tmp_path / "queue.yaml"
    profile.write_text("base: hardened\nnth: {mode: queue}\n")
    state = tmp_path / "eks-state"
    args = ["--target", "eks", "--profile", str(profile), "--name", NAME, "--state-dir", str(state)]
    run = spotchaos(moto_url, "provision", *args, "--aws-only", "--ami", "ami-0abcdef1234567890")
    assert run.returncode == 0, run.stderr + run.stdout

    eks, iam, ec2, asg = (aws(moto_url, s) for s in ("eks", "iam", "ec2", "autoscaling"))
    cluster = eks.describe_cluster(name=NAME)["cluster"]
    assert cluster["tags"][OWNER_TAG] == NAME and cluster["version"] == "1.31"
    assert cluster["roleArn"].endswith(f":role/{NAME}-eks-cluster")
    roles = {r["RoleName"]: r for r in iam.list_roles()["Roles"]}
    want = {f"{NAME}-{p}" for p in ("eks-cluster", "node", "fis", "cluster-autoscaler", "aws-load-balancer-controller", "node-termination-handler", "resnet-s3-read")}
    assert want == set(roles)
    for name in want:
        assert _tags(iam.list_role_tags(RoleName=name)["Tags"])[OWNER_TAG] == NAME
    fis = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=f"{NAME}-fis")["AttachedPolicies"]]
    assert fis == ["arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorEC2Access"]
    # IRSA: the autoscaler's role trusts exactly its service account through the cluster's OIDC provider
    issuer = cluster["identity"]["oidc"]["issuer"].removeprefix("https://")
    trust = roles[f"{NAME}-cluster-autoscaler"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"]["Federated"].endswith(f"oidc-provider/{issuer}")
    assert trust["Statement"][0]["Condition"]["StringEquals"][f"{issuer}:sub"] == "system:serviceaccount:kube-system:cluster-autoscaler"
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"].split("oidc-provider/")[1] for p in providers] == [issuer]

    groups = {g["AutoScalingGroupName"]: g for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]}
    assert set(groups) == {f"eks-{NAME}-{g}" for g in ("ng-ondemand", "prod-4vcpu-16gb-spot", "prod-8vcpu-32gb-spot")}
    spot = groups[f"eks-{NAME}-prod-4vcpu-16gb-spot"]
    assert _tags(spot["Tags"])["aws-node-termination-handler/managed"] == ""  # queue mode drains only tagged groups
    assert spot["MixedInstancesPolicy"]["InstancesDistribution"]["SpotAllocationStrategy"] == "capacity-optimized"
    template = ec2.describe_launch_template_versions(LaunchTemplateName=f"{NAME}-prod-4vcpu-16gb-spot")["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert template["ImageId"] == "ami-0abcdef1234567890"
    assert template["IamInstanceProfile"]["Arn"].endswith(f"instance-profile/{NAME}-node")
    user_data = base64.b64decode(template["UserData"]).decode()
    config = yaml.safe_load(user_data.split("application/node.eks.aws\n\n", 1)[1].split("\n--", 1)[0])
    assert config["spec"]["cluster"]["apiServerEndpoint"] == cluster["endpoint"]
    assert "--node-labels=eks.amazonaws.com/capacityType=SPOT,eks.amazonaws.com/nodegroup=prod-4vcpu-16gb-spot,intent=apps,lifecycle=Ec2Spot" in config["spec"]["kubelet"]["flags"]

    events, sqs = aws(moto_url, "events"), aws(moto_url, "sqs")
    rules = {r["Name"]: r for r in events.list_rules(NamePrefix=f"{NAME}-nth")["Rules"]}
    assert set(rules) == {f"{NAME}-nth-{k}" for k in NTH_RULES}
    queue_arn = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=f"{NAME}-nth")["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert all(events.list_targets_by_rule(Rule=r)["Targets"][0]["Arn"] == queue_arn for r in rules)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": f"tag:{OWNER_TAG}", "Values": [NAME]}])["Vpcs"]
    assert len(vpcs) == 1
    assert len(ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpcs[0]["VpcId"]]}])["InternetGateways"]) == 1

    kubeconfig = yaml.safe_load((state / "kubeconfig").read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == cluster["endpoint"]
    assert kubeconfig["users"][0]["user"]["exec"]["args"][-4:] == ["get-token", "--cluster-name", NAME, "--output", "json"][-4:]
    assert oct((state / "kubeconfig").stat().st_mode & 0o777) == "0o600"

    # running it again creates nothing new
    again = spotchaos(moto_url, "provision", *args, "--aws-only", "--ami", "ami-0abcdef1234567890")
    assert again.returncode == 0, again.stderr
    assert "0 Auto Scaling groups created" in again.stdout
    assert len(iam.list_roles()["Roles"]) == len(want)

    # a role someone else made survives the teardown: only what carries our tag goes
    iam.create_role(RoleName="not-ours", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    down = spotchaos(moto_url, "teardown", *args, "--timeout", "60")
    assert down.returncode == 0, down.stderr + down.stdout
    assert eks.list_clusters()["clusters"] == []
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["not-ours"]
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert asg.describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert events.list_rules(NamePrefix=NAME)["Rules"] == [] and sqs.list_queues().get("QueueUrls", []) == []
    owned = [{"Name": f"tag:{OWNER_TAG}", "Values": [NAME]}]
    for call, key in ((ec2.describe_vpcs, "Vpcs"), (ec2.describe_subnets, "Subnets"), (ec2.describe_security_groups, "SecurityGroups"),
                      (ec2.describe_internet_gateways, "InternetGateways"), (ec2.describe_route_tables, "RouteTables"),
                      (ec2.describe_launch_templates, "LaunchTemplates")):
        assert call(Filters=owned)[key] == [], key
    # and again: nothing left to delete is not an error
    assert spotchaos(moto_url, "teardown", *args, "--timeout", "30").returncode == 0


def test_missing_ami_parameter_is_one_line(moto_url: str, tmp_path: Path) -> None:
    # moto has no EKS-optimized AMI parameters: what a region without the version looks like
    run = spotchaos(moto_url, "provision", "--target", "eks", "--name", "no-ami-test", "--state-dir", str(tmp_path), "--aws-only")
    assert run.returncode == 3
    assert "--ami" in run.stderr and "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert aws(moto_url, "eks").list_clusters()["clusters"] == []
    assert not [r for r in aws(moto_url, "iam").list_roles()["Roles"] if r["RoleName"].startswith("no-ami-test")]
    assert aws(moto_url, "ec2").describe_vpcs(Filters=[{"Name": f"tag:{OWNER_TAG}", "Values": ["no-ami-test"]}])["Vpcs"] == []
