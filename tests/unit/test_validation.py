from __future__ import annotations

from cluster.sim.kube.resources import Registry
from cluster.sim.kube.validation import validate

REGISTRY = Registry()


def fields(kind: str, obj: dict) -> list[str]:
    return [e.field for e in validate(REGISTRY.by_kind(kind), obj)]


def test_names_labels_and_pod_specs():
    assert fields("Pod", {"metadata": {"name": "ok"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}) == []
    assert fields("Pod", {"metadata": {"name": "Not_OK"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}) == ["metadata.name"]
    assert fields("Pod", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}) == ["spec.containers[0].image"]
    assert fields("Pod", {"metadata": {"name": "p", "labels": {"bad key!": "v"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}) == ["metadata.labels"]
    bad_qty = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "lots"}}}]}}
    assert fields("Pod", bad_qty) == ["spec.containers[0].resources.requests[cpu]"]


def test_workloads_and_nodes():
    dep = {"metadata": {"name": "d"}, "spec": {"replicas": -1, "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    assert fields("Deployment", dep) == ["spec.replicas"]
    assert fields("Node", {"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}}) == ["spec.taints[0].effect"]
    assert fields("PodDisruptionBudget", {"metadata": {"name": "b"}, "spec": {"minAvailable": 1, "maxUnavailable": 1}}) == ["spec"]
