"""The TF Serving service's objects from a ServingProfile: Deployment, Service, PDB, HPA,
Ingress (ALB), and the S3 access (a static-key Secret, or an IRSA service account)."""

from __future__ import annotations

from typing import Any

from cluster import resource_names as names
from cluster.profiles import ServingProfile

ALB = "alb.ingress.kubernetes.io/"
IMAGE = "tensorflow/serving:2.16.1"
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
S3_SECRET = "s3-credentials"
SERVICE_ACCOUNT = "resnet-serving"


def predict_path(sp: ServingProfile) -> str:
    return f"/v1/models/{sp.model_name}:predict"


def namespace(sp: ServingProfile) -> dict[str, Any] | None:
    if sp.namespace == "default" and not sp.readiness_gate:
        return None
    labels = {READINESS_GATE_LABEL: "enabled"} if sp.readiness_gate else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": sp.namespace, "labels": labels}}


def credentials(sp: ServingProfile, cluster: str, account: str = names.DEFAULT_ACCOUNT) -> dict[str, Any]:
    if sp.s3_credentials == "irsa":
        return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
            "name": SERVICE_ACCOUNT, "namespace": sp.namespace,
            "annotations": {"eks.amazonaws.com/role-arn": names.role_arn(account, cluster, names.MODEL_READ_ROLE)}}}
    # the walkthrough's static keys; placeholders here, never real keys (doctor flags this pattern)
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": S3_SECRET, "namespace": sp.namespace},
            "stringData": {"AWS_ACCESS_KEY_ID": "REPLACE-WITH-ACCESS-KEY-ID", "AWS_SECRET_ACCESS_KEY": "REPLACE-WITH-SECRET-ACCESS-KEY"}}


def deployment(sp: ServingProfile, region: str) -> dict[str, Any]:
    env: list[dict[str, Any]] = [{"name": "AWS_REGION", "value": region}, {"name": "S3_ENDPOINT", "value": f"s3.{region}.amazonaws.com"}]
    if sp.s3_credentials == "secret":
        env += [{"name": k, "valueFrom": {"secretKeyRef": {"name": S3_SECRET, "key": k}}} for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]
    container: dict[str, Any] = {
        "name": "resnet", "image": IMAGE, "command": ["/usr/bin/tensorflow_model_server"],
        "args": ["--port=9000", "--rest_api_port=8500", f"--model_name={sp.model_name}", f"--model_base_path={sp.model_base_path}"],
        "env": env,
        "ports": [{"containerPort": 9000, "name": "grpc"}, {"containerPort": 8500, "name": "http"}],
        "resources": {"requests": {"cpu": sp.cpu_request, "memory": sp.memory_request}, "limits": {"cpu": sp.cpu_limit, "memory": sp.memory_limit}},
    }
    if sp.readiness_probe:
        container["readinessProbe"] = {"httpGet": {"path": f"/v1/models/{sp.model_name}", "port": 8500},
                                       "initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 2}
    if sp.prestop_seconds is not None:
        container["lifecycle"] = {"preStop": {"exec": {"command": ["/bin/sh", "-c", f"sleep {sp.prestop_seconds}"]}}}
    pod: dict[str, Any] = {"nodeSelector": dict(sp.node_selector), "containers": [container]}
    if sp.grace_seconds is not None:
        pod["terminationGracePeriodSeconds"] = sp.grace_seconds
    if sp.s3_credentials == "irsa":
        pod["serviceAccountName"] = SERVICE_ACCOUNT
    if sp.topology_spread:
        pod["topologySpreadConstraints"] = [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": sp.app_label}}}
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": sp.name, "namespace": sp.namespace, "labels": {"app": sp.app_label}},
        "spec": {"replicas": sp.replicas, "selector": {"matchLabels": {"app": sp.app_label}},
                 "template": {"metadata": {"labels": {"app": sp.app_label}}, "spec": pod}},
    }


def service(sp: ServingProfile) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": sp.service_name, "namespace": sp.namespace, "labels": {"app": sp.app_label}},
            "spec": {"type": sp.service_type, "selector": {"app": sp.app_label},
                     "ports": [{"name": "grpc", "port": 9000, "targetPort": 9000}, {"name": "http", "port": 8500, "targetPort": 8500}]}}


def pdb(sp: ServingProfile) -> dict[str, Any] | None:
    if sp.pdb_max_unavailable is None:
        return None
    value: int | str = int(sp.pdb_max_unavailable) if sp.pdb_max_unavailable.isdigit() else sp.pdb_max_unavailable
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": sp.name, "namespace": sp.namespace},
            "spec": {"maxUnavailable": value, "selector": {"matchLabels": {"app": sp.app_label}}}}


def hpa(sp: ServingProfile) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": sp.name, "namespace": sp.namespace},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": sp.name},
                     "minReplicas": sp.hpa_min, "maxReplicas": sp.hpa_max,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": sp.hpa_cpu_percent}}}]}}


def ingress(sp: ServingProfile) -> dict[str, Any]:
    annotations = {ALB + "scheme": "internet-facing", ALB + "target-type": sp.target_type}
    if sp.readiness_probe:
        annotations[ALB + "healthcheck-path"] = f"/v1/models/{sp.model_name}"
    if sp.deregistration_delay is not None:
        annotations[ALB + "target-group-attributes"] = f"deregistration_delay.timeout_seconds={sp.deregistration_delay}"
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": sp.service_name, "namespace": sp.namespace, "annotations": annotations},
        "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [
            {"path": predict_path(sp), "pathType": "Exact", "backend": {"service": {"name": sp.service_name, "port": {"number": 8500}}}},
        ]}}]},
    }
