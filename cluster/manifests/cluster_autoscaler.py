"""Cluster Autoscaler's manifest for AWS as its chart renders it: a Deployment whose container
command carries the flags (auto-discovery by ASG tags, expander, balancing, scale-down), and
the priority expander's ConfigMap."""

from __future__ import annotations

from typing import Any

import yaml

IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.0"
NAME = "cluster-autoscaler"


def deployment(cluster: str, *, namespace: str = "kube-system", flags: dict[str, str | bool] | None = None,
               discovery_tags: tuple[str, ...] | None = None, node_selector: dict[str, str] | None = None,
               region: str = "us-east-1") -> dict[str, Any]:
    tags = discovery_tags or ("k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/{cluster}")
    settings: dict[str, str | bool] = {
        "cloud-provider": "aws", "v": "4", "stderrthreshold": "info", "skip-nodes-with-local-storage": False,
        "expander": "least-waste", "node-group-auto-discovery": "asg:tag=" + ",".join(tags), "balance-similar-node-groups": True,
    }
    settings.update(flags or {})
    command = ["./cluster-autoscaler"] + [f"--{k}" if v is True else f"--{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in settings.items()]
    labels = {"app.kubernetes.io/name": "aws-cluster-autoscaler", "app.kubernetes.io/instance": NAME}
    spec: dict[str, Any] = {
        "serviceAccountName": NAME,
        "priorityClassName": "system-cluster-critical",
        "containers": [{
            "name": "aws-cluster-autoscaler", "image": IMAGE, "command": command,
            "env": [{"name": "AWS_REGION", "value": region}],
            "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}},
        }],
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": namespace, "labels": dict(labels)},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)}, "template": {"metadata": {"labels": dict(labels)}, "spec": spec}},
    }


def priority_expander_configmap(priorities: dict[int, list[str]], *, namespace: str = "kube-system") -> dict[str, Any]:
    """`--expander=priority`: higher numbers win; values are regexes over node group (ASG) names."""
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cluster-autoscaler-priority-expander", "namespace": namespace},
        "data": {"priorities": yaml.safe_dump({int(k): list(v) for k, v in priorities.items()})},
    }
