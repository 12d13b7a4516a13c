"""How a run marks what it creates, so `cleanup --run-id` finds it without the journal: the run's
Kubernetes label (a valid label value whatever the run id), manifests stamped without touching
their selectors, and the run's tags on NTH's queue and rules (moto in process stands in for AWS)."""

from __future__ import annotations

import json
import re

import boto3
from moto import mock_aws

from chaos.identity import RUN_ID_LABEL, new_run_id, run_label, run_selector
from cluster.aws import interruption_queues
from cluster.aws.owner import OWNER_TAG, owner_tags
from cluster.kube_objects import stamped
from cluster.manifests.render import render
from cluster.profiles import load_profile

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def test_the_run_label_is_a_valid_label_value_and_keeps_the_unique_end():
    for name in ("single-spot-node-fis", "_x" * 40, "Ω weird name..", "a" * 200):
        run_id = new_run_id(name)
        value = run_label(run_id)[RUN_ID_LABEL]
        assert len(value) <= 63 and LABEL_VALUE.match(value), value
        assert run_id.endswith(value[-24:])  # the UTC second and the random bits
    assert run_selector("short-20261127T101010Z-abcdef") == f"{RUN_ID_LABEL}=short-20261127T101010Z-abcdef"


def test_stamped_manifests_carry_the_label_but_keep_their_selectors():
    objects = render(load_profile("hardened"))
    out = stamped(objects, {RUN_ID_LABEL: "r1"}, {"spotchaos.dev/run-id": "the-whole-run-id"})
    assert all(o["metadata"]["labels"][RUN_ID_LABEL] == "r1" for o in out)
    assert all(o["metadata"]["annotations"]["spotchaos.dev/run-id"] == "the-whole-run-id" for o in out)
    deploy = next(o for o in out if o["kind"] == "Deployment" and o["metadata"]["name"] == "resnet-v1")
    assert RUN_ID_LABEL not in deploy["spec"]["selector"]["matchLabels"] and RUN_ID_LABEL not in deploy["spec"]["template"]["metadata"]["labels"]
    assert all(RUN_ID_LABEL not in (o["metadata"].get("labels") or {}) for o in objects)  # the rendered objects are left as they were


def test_owner_tag_cannot_be_overridden_by_extra_tags():
    tags = {t["Key"]: t["Value"] for t in owner_tags("c1", {OWNER_TAG: "someone-else", "cost-center": "42"})}
    assert tags == {OWNER_TAG: "c1", "cost-center": "42"}


@mock_aws
def test_nth_queue_and_rules_carry_the_run_tags():
    sqs, events = boto3.client("sqs", region_name="us-east-1"), boto3.client("events", region_name="us-east-1")
    url = interruption_queues.ensure_queue_and_rules(sqs, events, "c1", {"spotchaos:run-id": "run-1"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {OWNER_TAG: "c1", "spotchaos:run-id": "run-1"}
    rules = events.list_rules(NamePrefix="c1-nth")["Rules"]
    assert len(rules) == len(interruption_queues.NTH_RULES)
    for rule in rules:
        tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]}
        assert tags["spotchaos:run-id"] == "run-1"


@mock_aws
def test_a_cluster_half_torn_down_is_still_found_by_its_run_id():
    """Killed in its rollback after the node groups went: the VPC, made first and deleted last, still names the cluster and its profile."""
    from chaos.aws.faults import AwsFaults
    from chaos.identity import PROFILE_TAG, RUN_ID_TAG

    ec2 = boto3.client("ec2", region_name="us-east-1")
    faults = AwsFaults(lambda service: boto3.client(service, region_name="us-east-1"), "us-east-1")
    assert faults.clusters_tagged(RUN_ID_TAG, "run-1", PROFILE_TAG) == []
    tags = [{"Key": OWNER_TAG, "Value": "c1"}, {"Key": RUN_ID_TAG, "Value": "run-1"}, {"Key": PROFILE_TAG, "Value": "hardened"}]
    ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])
    ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": OWNER_TAG, "Value": "c2"}, {"Key": RUN_ID_TAG, "Value": "run-2"}]}])
    assert faults.clusters_tagged(RUN_ID_TAG, "run-1", PROFILE_TAG) == [("c1", "hardened")]


@mock_aws
def test_karpenters_queue_is_named_after_the_cluster_with_its_five_rules():
    sqs, events = boto3.client("sqs", region_name="us-east-1"), boto3.client("events", region_name="us-east-1")
    url = interruption_queues.ensure_queue_and_rules(sqs, events, "c1", wiring=interruption_queues.KARPENTER)
    assert url.rsplit("/", 1)[-1] == "c1"
    rules = {r["Name"]: json.loads(r["EventPattern"]) for r in events.list_rules(NamePrefix="c1-karpenter")["Rules"]}
    assert sorted(p["detail-type"][0] for p in rules.values()) == sorted(p["detail-type"][0] for p in interruption_queues.KARPENTER_RULES.values())
    assert all(events.list_targets_by_rule(Rule=name)["Targets"][0]["Arn"].endswith(":c1") for name in rules)
    assert interruption_queues.delete_queue_and_rules(sqs, events, "c1") == [*(f"eventbridge rule {n}" for n in rules), "sqs queue c1"]
