"""`cluster.from` in an experiment: the twin's files read when the experiment is, relative to its
file, every mistake one line naming the field; a twin needs its service named and a simulator
started for the run; a manifests directory's kustomize files are not objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chaos.errors import SpecError
from chaos.spec import load_experiment, parse_experiment
from cluster.twin.inputs import read_inputs

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "docs" / "examples" / "twin-shop"
SERVICE = {"namespace": "shop", "deployment": "frontend", "ingress": "frontend", "path": "/"}


def _spec(cluster: dict, **more) -> dict:
    return {"name": "x", "cluster": cluster, "injections": [{"via": "fis"}], "hypotheses": [{"check": "error-rate", "max": 0.01}], **more}


def test_paths_are_relative_to_the_experiment_file(tmp_path):
    (tmp_path / "sub").mkdir()
    f = tmp_path / "sub" / "exp.yaml"
    f.write_text(yaml.safe_dump(_spec({"from": {"eksctl": str(SHOP / "cluster.yaml"), "manifests": ["shop/k8s/shop.yaml"]}, "service": SERVICE})))
    (tmp_path / "sub" / "shop" / "k8s").mkdir(parents=True)
    (tmp_path / "sub" / "shop" / "k8s" / "shop.yaml").write_text((SHOP / "k8s" / "shop.yaml").read_text())
    spec = load_experiment(f)
    assert spec.cluster.profile is None and spec.cluster.from_ is not None
    assert spec.cluster.from_.manifests == [str(tmp_path / "sub" / "shop" / "k8s" / "shop.yaml")]
    kinds = {s.kind for s in spec.cluster.from_.sources().objects}
    assert {"Deployment", "Service", "Ingress", "PodDisruptionBudget"} <= kinds


@pytest.mark.parametrize(("cluster", "field", "message"), [
    ({"from": {}, "service": SERVICE}, "cluster.from", "give eksctl, manifests or kustomize"),
    ({"from": {"manifests": ["no/such/dir"]}, "service": SERVICE}, "cluster.from", "manifests 'no/such/dir': not a manifest file"),
    ({"from": {"manifests": [str(SHOP / "k8s")]}}, "cluster", "name the service under test"),
    ({"from": {"manifests": [str(SHOP / "k8s")]}, "profile": "hardened", "service": SERVICE}, "cluster", "drop profile"),
    ({"from": {"eksctl": str(SHOP / "cluster.yaml"), "behaviours": str(SHOP / "behaviours.yaml")}, "service": SERVICE}, "cluster.from",
     "give them in manifests or kustomize"),
    ({"from": {"manifests": [str(SHOP / "k8s")], "behavours": "x"}, "service": SERVICE}, "cluster.from.behavours", "remove it"),
])
def test_mistakes_name_the_field(cluster, field, message):
    with pytest.raises(SpecError) as caught:
        parse_experiment(_spec(cluster))
    assert f"experiment: {field}: " in str(caught.value) and message in str(caught.value)


def test_a_twin_is_built_in_the_local_simulator_and_kept_in_a_running_one_only_when_asked(tmp_path):
    cluster = {"from": {"manifests": [str(SHOP / "k8s")]}, "service": SERVICE}
    with pytest.raises(SpecError, match="cluster.from builds the twin in the local simulator: use target kind local"):
        parse_experiment(_spec(cluster, target={"kind": "eks", "allowed_accounts": ["123456789012"], "allowed_contexts": ["c"], "fis_role_arn": "arn:x"}))
    running = {"kind": "local", "simulator": {"state_dir": str(tmp_path)}}
    with pytest.raises(SpecError, match="keeps it there for the next runs: set cluster.teardown: false"):
        parse_experiment(_spec(cluster, target=running))
    assert parse_experiment(_spec({**cluster, "teardown": False}, target=running)).cluster.from_ is not None


def test_a_manifests_directory_kustomization_is_not_an_object():
    objects = read_inputs(manifests=[SHOP / "k8s"]).objects
    assert objects and not [o for o in objects if o.kind == "Kustomization"]
    assert sum(1 for o in objects if o.kind == "Deployment") == 12 + 1  # the shop's and the Load Balancer Controller's
