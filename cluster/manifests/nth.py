"""aws-node-termination-handler manifests: the chart's IMDS-mode DaemonSet and queue-processor
Deployment (image, env, labels, tolerations), with the settings given as env vars."""

from __future__ import annotations

from typing import Any

IMAGE = "public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.22.0"
NAME = "aws-node-termination-handler"


def _env(settings: dict[str, str | int | bool]) -> list[dict[str, str]]:
    def text(v: str | int | bool) -> str:
        return str(v).lower() if isinstance(v, bool) else str(v)

    return [{"name": k, "value": text(v)} for k, v in settings.items()]


def _pod_spec(settings: dict[str, str | int | bool], node_selector: dict[str, str] | None, host_network: bool) -> dict[str, Any]:
    env = [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}] + _env(settings)
    spec: dict[str, Any] = {
        "serviceAccountName": NAME,
        "priorityClassName": "system-node-critical",
        "hostNetwork": host_network,
        "tolerations": [{"operator": "Exists"}],
        "containers": [{
            "name": NAME, "image": IMAGE, "env": env,
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True, "allowPrivilegeEscalation": False},
        }],
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return spec


def imds_daemonset(settings: dict[str, str | int | bool], *, namespace: str = "kube-system", name: str = NAME,
                   node_selector: dict[str, str] | None = None) -> dict[str, Any]:
    """IMDS mode: one pod per node, polling that node's instance metadata."""
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": name, "app.kubernetes.io/component": "daemonset"}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": dict(labels)}, "spec": _pod_spec(settings, node_selector, host_network=True)},
        },
    }


def queue_deployment(queue_url: str, settings: dict[str, str | int | bool], *, namespace: str = "kube-system", name: str = NAME,
                     node_selector: dict[str, str] | None = None, replicas: int = 1) -> dict[str, Any]:
    """Queue-processor mode: a Deployment reading the SQS queue EventBridge feeds."""
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": name, "app.kubernetes.io/component": "deployment"}
    env = {"ENABLE_SQS_TERMINATION_DRAINING": True, "QUEUE_URL": queue_url, **settings}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": _pod_spec(env, node_selector, host_network=False)},
        },
    }
