"""The twin's inputs (cluster/twin/inputs.py), read as users keep them: manifest files and
directories, an eksctl ClusterConfig, and kustomize directories built by the real `kubectl
kustomize`.  The doctor reads the same inputs, so `spotchaos doctor` shows them end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.cli import app
from cluster.eksctl import node_group_facts
from cluster.twin.inputs import TwinInputError, kustomize_build, read_inputs

FIXTURES = Path(__file__).parents[1] / "fixtures" / "doctor"
runner = CliRunner()

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
"""


def _doctor(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["doctor", *args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip().startswith("{") else {"raw": result.output}


def test_files_and_directories_read_as_kubectl_apply_takes_them(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "b-service.yaml").write_text("# helm template output\n---\n# Source: chart/templates/svc.yaml\n---\n"
                                                      "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n")
    (tmp_path / "app" / "a-deploy.yaml").write_text(DEPLOYMENT)
    (tmp_path / "app" / "README.md").write_text("kind: Deployment\n")  # not a manifest file
    (tmp_path / "list.json").write_text(json.dumps({"kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, 7]}))
    sources = read_inputs(manifests=[tmp_path / "app", tmp_path / "list.json"])
    assert [(s.kind, s.obj["metadata"]["name"]) for s in sources.objects] == [("Deployment", "web"), ("Service", "web"), ("ConfigMap", "c")]
    assert sources.objects[0].source.endswith("a-deploy.yaml'") and sources.objects[2].source.endswith("list.json'")
    assert sources.cluster_configs == []


def test_an_eksctl_config_gives_the_node_groups_and_one_without_a_cluster_config_is_refused(tmp_path):
    sources = read_inputs(eksctl=FIXTURES / "hardened" / "cluster.yaml")
    (config,) = sources.cluster_configs
    groups = node_group_facts(config.obj)
    assert groups and any(g.spot for g in groups)
    (tmp_path / "not-eksctl.yaml").write_text(DEPLOYMENT)
    with pytest.raises(TwinInputError, match="no ClusterConfig in it"):
        read_inputs(eksctl=tmp_path / "not-eksctl.yaml")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (CI installs it)")
def test_a_kustomize_overlay_is_built_by_kubectl(tmp_path):
    base, overlay = tmp_path / "base", tmp_path / "overlays" / "prod"
    base.mkdir()
    overlay.mkdir(parents=True)
    (base / "deploy.yaml").write_text(DEPLOYMENT)
    (base / "kustomization.yaml").write_text("resources:\n- deploy.yaml\n")
    (overlay / "kustomization.yaml").write_text("resources:\n- ../../base\nnamePrefix: prod-\ncommonLabels:\n  tier: prod\n")
    (deployment,) = kustomize_build(overlay)
    assert deployment.obj["metadata"]["name"] == "prod-web" and deployment.obj["metadata"]["labels"]["tier"] == "prod"
    (overlay / "kustomization.yaml").write_text("resources:\n- ../../missing\n")
    with pytest.raises(TwinInputError, match="kubectl kustomize failed"):
        kustomize_build(overlay)


def test_bad_inputs_are_one_line_naming_the_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("kind: Deployment\nmetadata: {name: [\n")
    with pytest.raises(TwinInputError, match="bad.yaml.*cannot read it as YAML"):
        read_inputs(manifests=[tmp_path / "bad.yaml"])
    with pytest.raises(TwinInputError, match="not a manifest file and not a directory"):
        read_inputs(manifests=[tmp_path / "nowhere"])
    with pytest.raises(TwinInputError, match="--kustomize .*not a directory"):
        read_inputs(kustomize=[tmp_path / "bad.yaml"])


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (CI installs it)")
def test_doctor_reads_the_same_inputs_split_or_kustomized_as_one_directory(tmp_path):
    for variant in ("hardened", "no-pdb"):
        whole = _doctor("--manifests", str(FIXTURES / variant))
        split = _doctor("--from-eksctl", str(FIXTURES / variant / "cluster.yaml"), "-f", str(FIXTURES / variant / "manifests.yaml"))
        built = tmp_path / variant
        built.mkdir()
        shutil.copy(FIXTURES / variant / "manifests.yaml", built / "manifests.yaml")
        (built / "kustomization.yaml").write_text("resources:\n- manifests.yaml\n")
        kustomized = _doctor("--from-eksctl", str(FIXTURES / variant / "cluster.yaml"), "-k", str(built))
        assert whole == split == kustomized, variant
    assert "no-pdb" in {f["check"] for f in whole[1]["findings"]}  # the known-bad variant is still flagged (a warning)
    assert _doctor("-f", str(FIXTURES / "hardened"), "--profile", "seed")[0] == 3


def test_helm_test_hooks_are_known_as_such():
    from cluster.twin.build import is_helm_test

    pod = {"kind": "Pod", "metadata": {"name": "ui-test-connection", "annotations": {"helm.sh/hook": "test-success"}}}
    assert is_helm_test(pod)
    assert is_helm_test({"metadata": {"annotations": {"helm.sh/hook": "test"}}})
    assert not is_helm_test({"metadata": {"annotations": {"helm.sh/hook": "pre-install,pre-upgrade"}}})
    assert not is_helm_test({"metadata": {"name": "ui"}})
