"""Kubernetes objects of a TF Serving service behind an ALB Ingress, as the tests apply them."""

from __future__ import annotations

from typing import Any

SERVING_ARGS = ["--port=9000", "--rest_api_port=8500", "--model_name=resnet", "--model_base_path=s3://models/resnet/"]


def serving_deployment(name: str, replicas: int, group: str, *, probe: bool = True, prestop_sleep: int | None = None, grace: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "resnet", "image": "tensorflow/serving", "command": ["/usr/bin/tensorflow_model_server"], "args": SERVING_ARGS,
        "ports": [{"containerPort": 9000, "name": "grpc"}, {"containerPort": 8500, "name": "http"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    }
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": "/v1/models/resnet", "port": 8500}, "periodSeconds": 2}
    if prestop_sleep is not None:
        container["lifecycle"] = {"preStop": {"exec": {"command": ["/bin/sh", "-c", f"sleep {prestop_sleep}"]}}}
    spec: dict[str, Any] = {"nodeSelector": {"nodegroup-under-test": group}, "containers": [container]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}},
    }


def serving_service(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [{"name": "http", "port": 8500, "targetPort": 8500}]}}


def alb_ingress(name: str, group: str, *, target_type: str = "instance", interval: int = 5, dereg_delay: int = 5) -> dict[str, Any]:
    a = "alb.ingress.kubernetes.io/"
    return {
        "metadata": {"name": name, "annotations": {
            a + "scheme": "internet-facing",
            a + "target-type": target_type,
            a + "healthcheck-path": "/v1/models/resnet",
            a + "healthcheck-interval-seconds": str(interval),
            a + "healthcheck-timeout-seconds": "2",
            a + "target-group-attributes": f"deregistration_delay.timeout_seconds={dereg_delay}",
            a + "target-node-labels": f"nodegroup-under-test={group}",
        }},
        "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [
            {"path": "/v1/models/resnet:predict", "pathType": "Exact", "backend": {"service": {"name": name, "port": {"number": 8500}}}},
        ]}}]},
    }
