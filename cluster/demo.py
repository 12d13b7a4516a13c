"""A small TF Serving service behind an ALB Ingress, like the seed's ResNet service, for
`spotchaos sim up --demo-nodes N` and the tests.  (The full seed and hardened profiles are
rendered by the provisioning code.)"""

from __future__ import annotations

from typing import Any

from cluster.manifests.nth import imds_daemonset

SERVING_ARGS = ["--port=9000", "--rest_api_port=8500", "--model_name=resnet", "--model_base_path=s3://models/resnet/"]
PREDICT_PATH = "/v1/models/resnet:predict"
ALB = "alb.ingress.kubernetes.io/"


def serving_deployment(name: str, replicas: int, node_selector: dict[str, str], *, probe: bool = True, prestop_sleep: int | None = None, grace: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "resnet", "image": "tensorflow/serving", "command": ["/usr/bin/tensorflow_model_server"], "args": SERVING_ARGS,
        "ports": [{"containerPort": 9000, "name": "grpc"}, {"containerPort": 8500, "name": "http"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    }
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": "/v1/models/resnet", "port": 8500}, "periodSeconds": 2}
    if prestop_sleep is not None:
        container["lifecycle"] = {"preStop": {"exec": {"command": ["/bin/sh", "-c", f"sleep {prestop_sleep}"]}}}
    spec: dict[str, Any] = {"nodeSelector": dict(node_selector), "containers": [container]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}},
    }


def serving_service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [{"name": "http", "port": 8500, "targetPort": 8500}]}}


def alb_ingress(name: str, node_labels: dict[str, str], *, target_type: str = "instance", interval: int = 5, dereg_delay: int = 5) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "annotations": {
            ALB + "scheme": "internet-facing",
            ALB + "target-type": target_type,
            ALB + "healthcheck-path": "/v1/models/resnet",
            ALB + "healthcheck-interval-seconds": str(interval),
            ALB + "healthcheck-timeout-seconds": "2",
            ALB + "target-group-attributes": f"deregistration_delay.timeout_seconds={dereg_delay}",
            ALB + "target-node-labels": ",".join(f"{k}={v}" for k, v in node_labels.items()),
        }},
        "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [
            {"path": PREDICT_PATH, "pathType": "Exact", "backend": {"service": {"name": name, "port": {"number": 8500}}}},
        ]}}]},
    }


def apply_demo_service(kubeconfig: str, replicas: int, namespace: str = "default", name: str = "resnet") -> None:
    """Create the demo service through the Kubernetes API (as kubectl would)."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=kubeconfig)
    labels = {"lifecycle": "Ec2Spot", "intent": "apps"}
    client.AppsV1Api(api).create_namespaced_deployment(namespace, serving_deployment(name, replicas, labels))
    client.CoreV1Api(api).create_namespaced_service(namespace, serving_service(name))
    client.NetworkingV1Api(api).create_namespaced_ingress(namespace, alb_ingress(name, labels))
    # the seed's Node Termination Handler: the release manifest's IMDS-mode DaemonSet (events on)
    client.AppsV1Api(api).create_namespaced_daemon_set("kube-system", imds_daemonset({"EMIT_KUBERNETES_EVENTS": True}))
