"""`kubectl get` tables as the real API server prints them (pkg/printers/internalversion): nodes
with -o wide (INTERNAL-IP, EXTERNAL-IP, OS-IMAGE, KERNEL-VERSION, CONTAINER-RUNTIME), pods with -o
wide (IP, NODE, NOMINATED NODE, READINESS GATES), HPAs (REFERENCE, TARGETS, MINPODS, MAXPODS,
REPLICAS) and EndpointSlices (ADDRESSTYPE, PORTS, ENDPOINTS).  Through kubectl."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from kubernetes import client

from cluster.sim.kube.tables import hpa_targets
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)

pytestmark = pytest.mark.integration


def _header(sim: Any, *args: str) -> tuple[list[str], list[str]]:
    out = subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "get", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    return [c for c in lines[0].split("  ") if c.strip()], lines[1:]


def test_get_prints_the_columns_the_api_server_prints(sim: Any) -> None:
    core, apps, _, api_client = sim.kube()
    autoscaling = client.AutoscalingV2Api(api_client)
    node_group(sim, "get-columns", ("m5.large",), desired=1)
    wait_ready_nodes(core, "get-columns", 1, 60)
    ns = namespace(core, "get-columns")
    d = deployment("web", 1, "get-columns", cpu="100m")
    d["spec"]["template"]["spec"]["containers"][0].update(image="registry.example.com/web:1", ports=[{"containerPort": 8080, "name": "http"}])
    apps.create_namespaced_deployment(ns, d)
    core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    wait_running(core, ns, "web", 1, 60)

    columns, rows = _header(sim, "nodes", "-o", "wide", "-l", "nodegroup-under-test=get-columns")
    assert [c.strip() for c in columns] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert "containerd://" in rows[0] and "<none>" in rows[0]  # no public address
    columns, _ = _header(sim, "pods", "-o", "wide", "-n", ns)
    assert [c.strip() for c in columns] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    columns, rows = _header(sim, "endpointslices", "-n", ns)
    assert [c.strip() for c in columns] == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert rows[0].split()[1:3] == ["IPv4", "8080"]

    hpa = {"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1,
                                                  "maxReplicas": 4, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}}
    autoscaling.create_namespaced_horizontal_pod_autoscaler(ns, hpa)
    columns, rows = _header(sim, "hpa", "-n", ns)
    assert [c.strip() for c in columns] == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert rows[0].split()[1] == "Deployment/web" and "cpu:" in rows[0] and "/50%" in rows[0]


def test_hpa_targets_read_as_kubectl_prints_them() -> None:
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
    assert hpa_targets([cpu], []) == "cpu: <unknown>/50%"
    assert hpa_targets([cpu], [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40}}}]) == "cpu: 40%/50%"
    mem = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}}
    assert hpa_targets([cpu, mem, cpu], []) == "cpu: <unknown>/50%, memory: <unknown>/500Mi + 1 more..."
    assert hpa_targets([], []) == "<none>"
