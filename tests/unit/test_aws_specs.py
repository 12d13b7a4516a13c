"""The AWS side's pure parts: role names within IAM's limit, IRSA trust scoped to one service
account, the node bootstrap config, and NTH's rules."""

from __future__ import annotations

import base64

import yaml

from cluster import resource_names as names
from cluster.aws.iam_roles import irsa_roles, service_roles
from cluster.aws.interruption_queues import NTH_RULES, queue_policy
from cluster.aws.node_bootstrap import node_config, user_data
from cluster.profiles import load_profile

CLUSTER = {"name": "c1", "endpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com", "certificateAuthority": {"data": "Q0E="},
           "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16"}}


def test_role_names_fit_iam_even_for_the_longest_cluster_names() -> None:
    long = "c" * 100  # EKS allows 100 characters, IAM role names 64
    for purpose in (names.CLUSTER_ROLE, names.LBC_ROLE, names.MODEL_READ_ROLE):
        name = names.role_name(long, purpose)
        assert len(name) <= 64 and name.endswith("-" + purpose)
    assert names.role_name("short", names.FIS_ROLE) == "short-fis"


def test_irsa_roles_follow_the_profile() -> None:
    issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
    seed = {r.purpose for r in irsa_roles(load_profile("seed"), "111122223333", issuer)}
    assert seed == {names.CA_ROLE, names.LBC_ROLE}  # static keys, IMDS-mode NTH: no role for either
    queue = load_profile("hardened", overrides={"nth": {"mode": "queue"}})
    roles = {r.purpose: r for r in irsa_roles(queue, "111122223333", issuer)}
    assert set(roles) == {names.CA_ROLE, names.LBC_ROLE, names.NTH_ROLE, names.MODEL_READ_ROLE}
    cond = roles[names.MODEL_READ_ROLE].trust["Statement"][0]["Condition"]["StringEquals"]
    assert cond["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"] == "system:serviceaccount:serving:resnet-serving"
    assert roles[names.MODEL_READ_ROLE].inline[1]["Resource"] == "arn:aws:s3:::spotchaos-models/*"
    assert [r.purpose for r in service_roles() if r.instance_profile] == [names.NODE_ROLE]


def test_node_user_data_is_a_nodeadm_config_with_the_groups_labels() -> None:
    config = node_config(CLUSTER, {"lifecycle": "Ec2Spot", "intent": "apps"})
    assert config["spec"]["cluster"] == {"name": "c1", "apiServerEndpoint": CLUSTER["endpoint"], "certificateAuthority": "Q0E=", "cidr": "172.20.0.0/16"}
    assert config["spec"]["kubelet"]["flags"] == ["--node-labels=intent=apps,lifecycle=Ec2Spot"]
    mime = base64.b64decode(user_data(CLUSTER, {})).decode()
    assert mime.startswith("MIME-Version: 1.0\nContent-Type: multipart/mixed")
    part = mime.split("Content-Type: application/node.eks.aws\n\n", 1)[1].rsplit("\n--", 1)[0]
    assert yaml.safe_load(part)["kind"] == "NodeConfig"


def test_nth_rules_cover_every_event_kind_nth_handles_and_only_eventbridge_may_send() -> None:
    kinds = {p["detail-type"][0] for p in NTH_RULES.values()}
    assert {"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation", "EC2 Instance State-change Notification",
            "EC2 Instance-terminate Lifecycle Action", "AWS Health Event"} == kinds
    statement = queue_policy("arn:aws:sqs:us-east-1:1:q")["Statement"][0]
    assert statement["Action"] == "sqs:SendMessage" and statement["Resource"] == "arn:aws:sqs:us-east-1:1:q"
