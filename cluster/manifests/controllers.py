"""The AWS Load Balancer Controller and metrics-server as their charts render them (the parts
that matter here: image, args, placement on the on-demand nodes, the `alb` IngressClass)."""

from __future__ import annotations

from typing import Any

LBC_IMAGE = "public.ecr.aws/eks/aws-load-balancer-controller:v2.9.2"
METRICS_SERVER_IMAGE = "registry.k8s.io/metrics-server/metrics-server:v0.7.2"
LBC_NAME = "aws-load-balancer-controller"
METRICS_SERVER_NAME = "metrics-server"


def _deployment(name: str, labels: dict[str, str], container: dict[str, Any], node_selector: dict[str, str], replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "kube-system", "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"serviceAccountName": name, "priorityClassName": "system-cluster-critical", "nodeSelector": dict(node_selector), "containers": [container]}}},
    }


def load_balancer_controller(cluster: str, node_selector: dict[str, str], region: str = "us-east-1") -> list[dict[str, Any]]:
    container = {"name": LBC_NAME, "image": LBC_IMAGE,
                 "args": [f"--cluster-name={cluster}", "--ingress-class=alb", f"--aws-region={region}"],
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}
    labels = {"app.kubernetes.io/name": "aws-load-balancer-controller"}
    ingress_class = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "alb"},
                     "spec": {"controller": "ingress.k8s.aws/alb"}}
    return [ingress_class, _deployment(LBC_NAME, labels, container, node_selector, replicas=2)]


def metrics_server(node_selector: dict[str, str]) -> list[dict[str, Any]]:
    container = {"name": "metrics-server", "image": METRICS_SERVER_IMAGE,
                 "args": ["--cert-dir=/tmp", "--secure-port=10250", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                          "--kubelet-use-node-status-port", "--metric-resolution=15s"],
                 "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}}}
    return [_deployment(METRICS_SERVER_NAME, {"k8s-app": "metrics-server"}, container, node_selector)]
