"""`spotchaos doctor` on the known-bad variants in tests/fixtures/doctor (each the hardened
profile with one defect): each is flagged by exactly its check; the hardened profile passes;
the seed profile gets the walkthrough's errors.  Also the profiles' manifests against the real
Kubernetes schemas, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.cli import app
from cluster.eksctl import cluster_config, node_group_facts
from cluster.manifests.render import ManifestError, render, validate
from cluster.profiles import ProfileError, hardened, load_profile, seed

FIXTURES = Path(__file__).parents[1] / "fixtures" / "doctor"
VARIANTS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name != "hardened")
WARNING_ONLY = {"no-pdb", "no-spread", "spot-not-diversified", "spot-mixed-shapes"}
runner = CliRunner()


def doctor(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["doctor", *args, "--json"])
    return result.exit_code, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else {"raw": result.stdout})


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_known_bad_variant_is_flagged_by_its_check(variant):
    code, report = doctor("--manifests", str(FIXTURES / variant))
    assert {f["check"] for f in report["findings"]} == {variant}
    assert all(f["why"] and f["fix"] for f in report["findings"])
    assert code == (0 if variant in WARNING_ONLY else 1)


def test_hardened_passes_and_seed_gets_the_walkthroughs_errors():
    assert doctor("--manifests", str(FIXTURES / "hardened")) == (0, {"apiVersion": "spotchaos.dev/v1", "kind": "DoctorReport", "findings": [], "errors": 0, "warnings": 0})
    assert doctor("--profile", "hardened")[0] == 0
    code, report = doctor("--profile", "seed")
    assert code == 1
    errors = {f["check"] for f in report["findings"] if f["level"] == "error"}
    assert {"no-readiness-probe", "dereg-delay-exceeds-notice", "static-credentials"} <= errors


def test_bad_doctor_input_is_one_line():
    result = runner.invoke(app, ["doctor", "--manifests", "/nonexistent/dir"])
    assert result.exit_code == 3 and "not a directory" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["doctor", "--manifests", str(FIXTURES), "--profile", "seed"])
    assert result.exit_code == 3 and "one of" in result.output


def test_profiles_render_valid_kubernetes_and_a_broken_object_is_named():
    for profile in (seed(), hardened()):
        validate(render(profile), profile.kubernetes_version)
    objs = render(seed())
    deploy = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "resnet-v1")
    deploy["spec"]["replicas"] = "many"
    with pytest.raises(ManifestError, match="Deployment resnet-v1: spec.replicas"):
        validate(objs, "1.31")


def test_eksctl_cluster_config_round_trips_node_groups():
    cfg = cluster_config(seed())
    assert cfg["apiVersion"] == "eksctl.io/v1alpha5" and len(cfg["nodeGroups"]) == 2 and len(cfg["managedNodeGroups"]) == 1
    facts = {g.name: g for g in node_group_facts(cfg)}
    assert facts["prod-4vcpu-16gb-spot"].spot and len(facts["prod-4vcpu-16gb-spot"].instance_types) == 7
    assert "k8s.io/cluster-autoscaler/TensorFlowServingCluster" in facts["prod-8vcpu-32gb-spot"].tags
    assert not facts["ng-ondemand"].spot


def test_profile_errors_name_the_field():
    with pytest.raises(ProfileError, match="unknown profile"):
        load_profile("platinum")
    with pytest.raises(ProfileError, match="name"):
        load_profile("seed", "-bad name")


def test_render_writes_what_eksctl_and_kubectl_take_and_doctor_reads_it(tmp_path):
    result = runner.invoke(app, ["render", "--profile", "hardened", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cluster.yaml").read_text().startswith("apiVersion: eksctl.io/v1alpha5")
    assert doctor("--manifests", str(tmp_path))[0] == 0
    runner.invoke(app, ["render", "--profile", "seed", "--out", str(tmp_path)])
    assert doctor("--manifests", str(tmp_path))[0] == 1


def test_render_with_an_account_points_every_irsa_annotation_at_it(tmp_path):
    import yaml

    result = runner.invoke(app, ["render", "--profile", "hardened", "--name", "prod-serving", "--account", "210987654321", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    objects = list(yaml.safe_load_all((tmp_path / "manifests.yaml").read_text()))
    arns = {o["metadata"]["name"]: o["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn") for o in objects if o["kind"] == "ServiceAccount"}
    assert arns["cluster-autoscaler"] == "arn:aws:iam::210987654321:role/prod-serving-cluster-autoscaler"
    assert arns["aws-load-balancer-controller"] == "arn:aws:iam::210987654321:role/prod-serving-aws-load-balancer-controller"
    assert arns["resnet-serving"] == "arn:aws:iam::210987654321:role/prod-serving-resnet-s3-read"
    auth = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "aws-auth")
    assert "arn:aws:iam::210987654321:role/prod-serving-node" in auth["data"]["mapRoles"]
    bad = runner.invoke(app, ["render", "--account", "12345", "--out", str(tmp_path)])
    assert bad.exit_code == 3 and "--account" in bad.output


def test_findings_stay_readable_in_an_80_column_terminal():
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run([sys.executable, "-m", "chaos.cli", "doctor", "--profile", "seed"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    for check in ("alb-health-check-fails", "dereg-delay-exceeds-notice", "no-readiness-probe"):
        assert any(line.startswith("error " + check) for line in lines), check
    assert any("fix" in line and "/v1/models/resnet" in line for line in lines)
