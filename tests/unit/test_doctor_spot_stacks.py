"""Doctor on the Spot stacks teams run beside the seed's: Karpenter (its interruption queue, NTH
beside it, NodePools with few Spot pools, consolidation without a budget) and EKS managed node
groups (which drain their own nodes, so NTH in IMDS mode doubles the drain; a single-type Spot
group).  Each case is the hardened profile changed in one way; the checks read the objects as
Karpenter and EKS define them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from chaos.cli import app
from cluster.doctor import NodeGroupFacts, diagnose
from cluster.doctor.findings import MANAGED_GROUP_TAG
from cluster.eksctl import cluster_config, node_group_facts
from cluster.manifests.render import render
from cluster.profiles import hardened

KARPENTER = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "karpenter", "namespace": "kube-system"},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": "karpenter"}},
                      "template": {"metadata": {"labels": {"app.kubernetes.io/name": "karpenter"}},
                                   "spec": {"containers": [{"name": "controller", "image": "public.ecr.aws/karpenter/controller:1.6.0",
                                                            "env": [{"name": "CLUSTER_NAME", "value": "TensorFlowServingCluster"},
                                                                    {"name": "INTERRUPTION_QUEUE", "value": "TensorFlowServingCluster"}]}]}}}}
SPOT_TYPES = ["m5.xlarge", "m5a.xlarge", "m5d.xlarge", "m4.xlarge", "m5n.xlarge", "t3.xlarge"]


def _node_pool(types: list[str] | None = None, consolidation: str = "WhenEmptyOrUnderutilized") -> dict[str, Any]:
    requirements = [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}]
    if types is not None:
        requirements.append({"key": "node.kubernetes.io/instance-type", "operator": "In", "values": types})
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "serving"},
            "spec": {"template": {"metadata": {"labels": {"lifecycle": "Ec2Spot"}},  # the serving pods' nodeSelector: they land here
                                  "spec": {"requirements": requirements, "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass",
                                                                                          "name": "default"}}},
                     "disruption": {"consolidationPolicy": consolidation, "consolidateAfter": "1m"}}}


def _objects(nth: bool = True) -> list[dict[str, Any]]:
    objects = render(hardened())
    return [o for o in objects if nth or "aws-node-termination-handler" not in yaml.safe_dump(o.get("spec", {}))]


def _checks(objects: list[dict[str, Any]], groups: list[NodeGroupFacts] | None = None) -> dict[str, str]:
    return {f.check: f.level for f in diagnose(objects, groups)}


def test_karpenter_with_its_queue_needs_no_nth_and_passes() -> None:
    assert _checks([*_objects(nth=False), KARPENTER, _node_pool(SPOT_TYPES)]) == {}


def test_karpenter_without_a_queue_does_not_handle_interruptions() -> None:
    blind = copy.deepcopy(KARPENTER)
    blind["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "CLUSTER_NAME", "value": "c"}]
    found = _checks([*_objects(nth=False), blind, _node_pool(SPOT_TYPES)])
    assert found["karpenter-no-interruption-queue"] == "error" and found["nth-missing"] == "error"
    flagged = copy.deepcopy(blind)
    flagged["spec"]["template"]["spec"]["containers"][0]["args"] = ["--interruption-queue=q"]  # the flag counts as the env var does
    assert "karpenter-no-interruption-queue" not in _checks([*_objects(nth=False), flagged, _node_pool(SPOT_TYPES)])


def test_nth_beside_karpenters_interruption_handling_is_two_handlers() -> None:
    assert _checks([*_objects(nth=True), KARPENTER, _node_pool(SPOT_TYPES)]) == {"karpenter-and-nth": "error"}


def test_a_nodepool_with_few_spot_types_and_consolidation_without_a_budget() -> None:
    assert _checks([*_objects(nth=False), KARPENTER, _node_pool(["m5.xlarge", "m5a.xlarge"])]) == {"nodepool-few-spot-pools": "warning"}
    without_pdb = [o for o in _objects(nth=False) if o["kind"] != "PodDisruptionBudget"]
    found = _checks([*without_pdb, KARPENTER, _node_pool(SPOT_TYPES)])
    assert found["consolidation-without-pdb"] == "warning"
    assert "consolidation-without-pdb" not in _checks([*without_pdb, KARPENTER, _node_pool(SPOT_TYPES, consolidation="WhenEmpty")])


def _managed(groups: list[NodeGroupFacts]) -> list[NodeGroupFacts]:
    return [NodeGroupFacts(g.name, g.instance_types, g.spot, g.max_size, {**g.tags, MANAGED_GROUP_TAG: g.name}) for g in groups]


def test_managed_spot_groups_drain_themselves() -> None:
    groups = _managed(node_group_facts(cluster_config(hardened())))
    assert _checks(_objects(nth=False), groups) == {}  # no NTH needed
    assert _checks(_objects(nth=True), groups) == {"managed-and-nth": "warning"}
    single = [NodeGroupFacts("one-type", ("m5.xlarge",), True, 5, {**groups[-1].tags, MANAGED_GROUP_TAG: "one-type"}), *groups]
    assert _checks(_objects(nth=False), single) == {"spot-single-type": "error"}


def test_doctor_reads_managed_spot_groups_from_an_eksctl_config(tmp_path: Path) -> None:
    config = cluster_config(hardened())
    config["managedNodeGroups"] += [{"name": g["name"], "instanceTypes": g["instancesDistribution"]["instanceTypes"], "spot": True,
                                     "minSize": g["minSize"], "maxSize": g["maxSize"], "desiredCapacity": g["desiredCapacity"],
                                     "labels": g["labels"], "tags": g["tags"], "iam": g["iam"]}
                                    for g in config.pop("nodeGroups")]
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "manifests.yaml").write_text(yaml.safe_dump_all(_objects(nth=True)))
    result = CliRunner().invoke(app, ["doctor", "--manifests", str(tmp_path), "--json"])
    assert [f["check"] for f in yaml.safe_load(result.stdout)["findings"]] == ["managed-and-nth"], result.stdout


def test_the_managed_profile_renders_managed_spot_groups_and_passes_doctor(tmp_path: Path) -> None:
    from rich.console import Console

    from chaos.provisioning import ProvisioningFailed, provision
    from cluster.endpoints import Endpoints
    from cluster.profiles import load_profile

    profile = load_profile("managed")
    config = cluster_config(profile)
    spot = [g for g in config["managedNodeGroups"] if g.get("spot")]
    assert [g["name"] for g in spot] == ["prod-4vcpu-16gb-spot", "prod-8vcpu-32gb-spot"] and not config["nodeGroups"]
    assert all(len(g["instanceTypes"]) >= 4 for g in spot)
    assert not [o for o in render(profile) if "aws-node-termination-handler" in yaml.safe_dump(o)]  # EKS drains: no NTH
    result = CliRunner().invoke(app, ["doctor", "--profile", "managed", "--json"])
    assert result.exit_code == 0 and yaml.safe_load(result.stdout)["findings"] == [], result.stdout
    eks = Endpoints(target="eks", aws_endpoint_url=None, region="us-east-1", kubeconfig=str(tmp_path / "kubeconfig"), kube_context="c")
    try:
        provision(profile, eks, 1.0, Console(file=None))
        raise AssertionError("provision --target eks made managed groups itself")
    except ProvisioningFailed as exc:
        assert "eksctl" in str(exc) and "render --profile managed" in str(exc)


def test_the_karpenter_profile_renders_karpenter_in_place_of_the_spot_groups_and_passes_doctor(tmp_path: Path) -> None:
    from cluster.profiles import load_profile

    profile = load_profile("karpenter")
    objects = render(profile, "210987654321")
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {("NodePool", "serving-spot"), ("EC2NodeClass", "default"), ("Deployment", "karpenter")} <= kinds
    assert not {k for k in kinds if "cluster-autoscaler" in k[1] or "node-termination-handler" in k[1]}  # Karpenter provisions and handles notices
    (controller,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "karpenter"]
    env = {e["name"]: e["value"] for e in controller["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CLUSTER_NAME"] == profile.name and env["INTERRUPTION_QUEUE"] == profile.name
    (pool,) = [o for o in objects if o["kind"] == "NodePool"]
    assert pool["spec"]["template"]["metadata"]["labels"] == profile.serving.node_selector  # the serving pods land on its nodes
    reqs = {r["key"]: r["values"] for r in pool["spec"]["template"]["spec"]["requirements"]}
    assert reqs["karpenter.sh/capacity-type"] == ["spot", "on-demand"] and reqs["karpenter.k8s.aws/instance-cpu"] == ["4", "8"]
    config = cluster_config(profile)
    assert config["karpenter"]["withSpotInterruptionQueue"] is True and not config["nodeGroups"]
    result = CliRunner().invoke(app, ["doctor", "--profile", "karpenter", "--json"])
    assert result.exit_code == 0 and yaml.safe_load(result.stdout)["findings"] == [], result.stdout
    written = CliRunner().invoke(app, ["render", "--profile", "karpenter", "--out", str(tmp_path), "--account", "210987654321"])
    assert written.exit_code == 0, written.stdout
    values = yaml.safe_load((tmp_path / "karpenter-values.yaml").read_text())
    assert values["settings"] == {"clusterName": profile.name, "interruptionQueue": profile.name, "batchMaxDuration": "10s", "batchIdleDuration": "1s"}
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == f"arn:aws:iam::210987654321:role/{profile.name}-karpenter"


def test_the_karpenter_profiles_known_bad_variants_are_flagged(tmp_path: Path) -> None:
    for override, expected in (("karpenter: {interruption_queue: false}", "karpenter-no-interruption-queue"), ("nth: {mode: imds}", "karpenter-and-nth")):
        path = tmp_path / "variant.yaml"
        path.write_text(f"base: karpenter\n{override}\n")
        result = CliRunner().invoke(app, ["doctor", "--profile", str(path), "--json"])
        assert result.exit_code == 1 and expected in {f["check"] for f in yaml.safe_load(result.stdout)["findings"]}, result.stdout


def test_managed_groups_are_tagged_and_rebalanced_as_eks_makes_them() -> None:
    from cluster.profiles import load_profile
    from cluster.provision import node_group_specs

    profile = load_profile("managed")
    specs = {s.name: s for s in node_group_specs(profile)}
    managed = [g for g in profile.node_groups if g.managed]
    assert managed
    for g in managed:
        tags = specs[g.name].tags()
        assert tags["eks:nodegroup-name"] == g.name and tags["eks:cluster-name"] == profile.name
        assert specs[g.name].capacity_rebalance is g.spot  # EKS turns Capacity Rebalancing on for a managed Spot group
