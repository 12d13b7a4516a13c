"""kubectl logs against the simulator: TF Serving pods log their model load and listeners as
tensorflow_model_server does, NTH logs the interruption it handles (followed live with -f), the
cuts (--tail, --timestamps, --since) work, --previous and exec answer as a real cluster or say
what the simulator does not do; the Load Balancer Controller logs its model and its target
changes as v2.9 does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from typing import Any

import pytest
from kubernetes import client

from cluster.demo import alb_ingress, serving_deployment
from cluster.manifests.controllers import LBC_NAME, load_balancer_controller
from cluster.manifests.nth import imds_daemonset
from cluster.waiting import wait_for
from tests.integration.helpers import namespace, node_group, wait_ready_nodes, wait_running
from tests.integration.spot_helpers import control, instance_of

pytestmark = pytest.mark.integration


@pytest.fixture
def kubectl(sim: Any) -> Any:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    return ["kubectl", "--kubeconfig", sim.endpoints.kubeconfig]


def test_tf_serving_logs_its_start_and_the_cuts_work(sim: Any, kubectl: list[str]) -> None:
    core, apps, _, _ = sim.kube()
    node_group(sim, "logs-serving", ("m5.large",), desired=1)
    wait_ready_nodes(core, "logs-serving", 1, 60)
    ns = namespace(core, "logs-serving")
    apps.create_namespaced_deployment(ns, serving_deployment("resnet", 1, {"nodegroup-under-test": "logs-serving"}))
    (pod,) = wait_running(core, ns, "resnet", 1, 60)
    name = pod.metadata.name

    def logs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*kubectl, "logs", "-n", ns, name, *args], capture_output=True, text=True, timeout=60)

    full = logs().stdout.splitlines()
    assert any("Successfully loaded servable version {name: resnet version: 1}" in line for line in full), full
    assert "Exporting HTTP/REST API at:localhost:" in full[-2] and "Running gRPC ModelServer at 0.0.0.0:" in full[-3]
    assert logs("--tail=2").stdout.splitlines() == full[-2:]
    stamped = logs("--timestamps", "--tail=1").stdout
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \[evhttp_server", stamped), stamped
    assert logs("--since=1h").stdout.splitlines() == full
    previous = logs("--previous")
    assert previous.returncode != 0 and "previous terminated container" in previous.stderr
    entered = subprocess.run([*kubectl, "exec", "-n", ns, name, "--", "ls"], capture_output=True, text=True, timeout=60)
    assert entered.returncode != 0 and "not supported by the simulator" in entered.stderr, entered.stderr


def test_nth_logs_the_interruption_it_handles_followed_live(sim: Any, kubectl: list[str]) -> None:
    core, apps, _, _ = sim.kube()
    node_group(sim, "logs-nth", ("m5.large",), desired=1)
    (node,) = wait_ready_nodes(core, "logs-nth", 1, 60)
    ns = namespace(core, "logs-nth")
    apps.create_namespaced_daemon_set(ns, imds_daemonset({}, namespace=ns, node_selector={"nodegroup-under-test": "logs-nth"}))
    (nth,) = wait_for(lambda: [p for p in core.list_namespaced_pod(ns).items if p.status.phase == "Running"], 30, "NTH running")
    follow = subprocess.Popen([*kubectl, "logs", "-f", "-n", ns, nth.metadata.name], stdout=subprocess.PIPE, text=True)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(follow.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_for(lambda: any("Started watching for interruption events" in line for line in seen), 20, "NTH's first line")
        assert control(sim, f"/v1/instances/{instance_of(node)}/spot-interruption", {})[0] == 201
        wait_for(lambda: any("Node successfully cordoned and drained" in line for line in seen), 60, "the drain in NTH's log, followed",
                 describe=lambda: seen[-5:])
    finally:
        follow.kill()
    text = "".join(seen)
    assert "INF Adding new event to the event store event={" in text and f'"NodeName":"{node.metadata.name}"' in text
    assert "INF Requesting instance drain event-id=" in text and f"node-name={node.metadata.name}" in text
    assert text.index("Requesting instance drain") < text.index("Draining the node") < text.index("Node successfully cordoned and drained")


def test_the_load_balancer_controller_logs_its_model_and_target_changes(sim: Any, kubectl: list[str]) -> None:
    """The controller pod's log, in controller-runtime's JSON: the ingress group deployed, the
    node registered on its node port, then deregistered when it is excluded from load balancers."""
    core, apps, _, api_client = sim.kube()
    networking = client.NetworkingV1Api(api_client)
    node_group(sim, "logs-lbc", ("m5.large",), desired=1)
    (node,) = wait_ready_nodes(core, "logs-lbc", 1, 60)
    ns = namespace(core, "logs-lbc")
    core.create_namespaced_service_account(ns, {"metadata": {"name": LBC_NAME}})
    _, controller = load_balancer_controller("logs-lbc", {"nodegroup-under-test": "logs-lbc"})
    controller["metadata"]["namespace"] = ns
    controller["spec"]["replicas"] = 1
    apps.create_namespaced_deployment(ns, controller)
    try:
        wait_for(lambda: [p for p in core.list_namespaced_pod(ns).items if p.status.phase == "Running"], 60, "the controller pod running")
        svc = core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {"type": "NodePort", "selector": {"app": "web"},
                                                                                       "ports": [{"name": "http", "port": 8500, "targetPort": 8500}]}})
        networking.create_namespaced_ingress(ns, alb_ingress("web", {"nodegroup-under-test": "logs-lbc"}))

        def lines() -> list[dict[str, Any]]:
            out = subprocess.run([*kubectl, "logs", "-n", ns, f"deploy/{LBC_NAME}"], capture_output=True, text=True, timeout=60).stdout
            return [json.loads(line) for line in out.splitlines() if line.strip()]

        target = {"AvailabilityZone": None, "Id": instance_of(node), "Port": svc.spec.ports[0].node_port}
        wait_for(lambda: any(r["msg"] == "registered targets" for r in lines()), 30, "the registration in LBC's log", describe=lambda: lines()[-4:])
        core.patch_node(node.metadata.name, {"metadata": {"labels": {"node.kubernetes.io/exclude-from-external-load-balancers": "true"}}})
        wait_for(lambda: any(r["msg"] == "deRegistered targets" for r in lines()), 30, "the deregistration in LBC's log", describe=lambda: lines()[-4:])
        seen = lines()
        assert [r["msg"] for r in seen] == ["successfully deployed model", "registering targets", "registered targets",
                                            "deRegistering targets", "deRegistered targets"], seen
        assert seen[0]["logger"] == "controllers.ingress" and seen[0]["ingressGroup"] == f"{ns}/web"
        assert all(r["level"] == "info" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["ts"]) for r in seen)
        assert all(r["targets"] == [target] and r["arn"].startswith("arn:aws:elasticloadbalancing:") for r in seen[1:])
    finally:
        apps.delete_namespaced_deployment(LBC_NAME, ns)
