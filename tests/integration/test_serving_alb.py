"""TF Serving pods behind the simulated ALB, driven only through boto3, the Kubernetes client and
HTTP: predictions through the balancer, target health as DescribeTargetHealth reports it, a
graceful pod deletion without a failed request, and a node lost without a drain."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client

from chaos.load.bodies import image_body, sample_jpeg
from chaos.load.profile import constant
from chaos.load.run import LoadSpec, Snapshot, run_load
from cluster.demo import alb_ingress, serving_deployment, serving_service
from cluster.published_clock import ClockReader
from cluster.waiting import wait_for
from tests.integration.helpers import (
    ingress_address,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)

pytestmark = pytest.mark.integration


def ingress_url(net: Any, ns: str, name: str, timeout: float = 30) -> str:
    def address() -> str | None:
        base = ingress_address(net, ns, name)
        return f"{base}/v1/models/resnet:predict" if base else None

    return wait_for(address, timeout, f"ingress {ns}/{name} to get an address")


def target_group_arn(elb: Any, ns: str, service: str) -> str:
    def find() -> str | None:
        for tg in elb.describe_target_groups()["TargetGroups"]:
            tags = elb.describe_tags(ResourceArns=[tg["TargetGroupArn"]])["TagDescriptions"][0]["Tags"]
            if {"Key": "service.k8s.aws/resource", "Value": f"{ns}/{service}:8500"} in tags:
                return tg["TargetGroupArn"]
        return None

    return wait_for(find, 30, f"target group of {ns}/{service}")


def health(elb: Any, arn: str) -> dict[str, str]:
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]}


def wait_all_healthy(elb: Any, arn: str, count: int, timeout: float = 30) -> dict[str, str]:
    return wait_for(lambda: (lambda h: h if len(h) == count and set(h.values()) == {"healthy"} else None)(health(elb, arn)), timeout,
                    f"{count} healthy targets", describe=lambda: health(elb, arn))


class Load:
    """A load run on its own thread and event loop; `flowing` is set once `warmup` requests are done."""

    def __init__(self, url: str, rps: float, seconds: float, warmup: int = 100) -> None:
        self.summary: dict[str, Any] = {}
        self.flowing = threading.Event()
        spec = LoadSpec(url, constant(rps, seconds), body=image_body())

        def progress(s: Snapshot) -> None:
            if s.completed >= warmup:
                self.flowing.set()

        def go() -> None:
            self.summary.update(asyncio.run(run_load(spec, progress, progress_interval=0.05)))
            self.flowing.set()

        self.thread = threading.Thread(target=go, daemon=True)
        self.thread.start()

    def wait_flowing(self) -> None:
        assert self.flowing.wait(30), "load did not start"

    def result(self) -> dict[str, Any]:
        self.thread.join(60)
        assert self.summary, "load run did not finish"
        return self.summary


def serving_behind_alb(sim: Any, group: str, nodes: int, replicas: int, *, target_type: str, dereg_delay: int, **pod: Any) -> dict[str, Any]:
    """A node group, a TF Serving Deployment on it, its NodePort Service and an ALB Ingress; waits
    until every target is healthy."""
    core, apps, _, api_client = sim.kube()
    net = client.NetworkingV1Api(api_client)
    ns = namespace(core, group)
    node_group(sim, group, ("m5.xlarge",), nodes)
    wait_ready_nodes(core, group, nodes, 60)
    selector = {"nodegroup-under-test": group}
    apps.create_namespaced_deployment(ns, serving_deployment("resnet", replicas, selector, **pod))
    core.create_namespaced_service(ns, serving_service("resnet"))
    net.create_namespaced_ingress(ns, alb_ingress("resnet", selector, target_type=target_type, dereg_delay=dereg_delay))
    wait_running(core, ns, "resnet", replicas, 60)
    url = ingress_url(net, ns, "resnet")
    elb = sim.aws("elbv2")
    arn = target_group_arn(elb, ns, "resnet")
    wait_all_healthy(elb, arn, nodes if target_type == "instance" else replicas)
    return {"ns": ns, "url": url, "arn": arn, "core": core, "apps": apps, "elb": elb}


@pytest.fixture(scope="module")
def instance_mode(sim: Any) -> dict[str, Any]:
    return serving_behind_alb(sim, "serving-inst", 3, 25, target_type="instance", dereg_delay=5)


def test_predictions_through_the_alb_to_25_pods(instance_mode: dict[str, Any]) -> None:
    url = instance_mode["url"]
    r = requests.post(url, json={"instances": [{"b64": base64.b64encode(sample_jpeg()).decode()}]}, timeout=10)
    assert r.status_code == 200
    pred = r.json()["predictions"][0]
    assert len(pred["probabilities"]) == 1001 and 0 <= pred["classes"] < 1001
    assert abs(sum(pred["probabilities"]) - 1.0) < 1e-3
    status = requests.get(url.replace(":predict", ""), timeout=10)
    assert status.status_code == 404  # only the predict path is routed by the Ingress
    assert status.headers["Server"] == "awselb/2.0"

    summary = Load(url, 100, 3).result()
    assert summary["completed"] == 300 and summary["errors"] == 0, summary["outcomes"]


def test_malformed_predict_bodies_get_tf_serving_400s(instance_mode: dict[str, Any]) -> None:
    url = instance_mode["url"]
    r = requests.post(url, data=b"{not json", timeout=10)
    assert r.status_code == 400 and r.json()["error"].startswith("JSON Parse error")
    r = requests.post(url, json={"signature_name": "serving_default"}, timeout=10)
    assert r.status_code == 400 and "instances" in r.json()["error"]
    r = requests.post(url, json={"instances": [{"b64": "%%%"}]}, timeout=10)
    assert r.status_code == 400 and "base64" in r.json()["error"]


def test_node_lost_without_drain_gives_counted_balancer_502s(sim: Any, instance_mode: dict[str, Any]) -> None:
    elb, arn = instance_mode["elb"], instance_mode["arn"]
    victim = next(iter(health(elb, arn)))
    load = Load(instance_mode["url"], 150, 4)
    load.wait_flowing()
    sim.aws("ec2").terminate_instances(InstanceIds=[victim])
    summary = load.result()
    outcomes = summary["outcomes"]
    assert outcomes["balancer_5xx"] > 0, outcomes
    assert summary["statuses"].get("502", 0) == outcomes["balancer_5xx"]
    assert outcomes["connection"] == 0 and outcomes["backend_5xx"] == 0, outcomes
    assert outcomes["ok"] > 0.5 * summary["completed"]
    # LBC takes the lost node out once it is NotReady; the target group ends up with the survivors
    wait_for(lambda: victim not in health(elb, arn) or health(elb, arn)[victim] == "draining", 30, f"{victim} deregistered", describe=lambda: health(elb, arn))


@pytest.fixture(scope="module")
def ip_mode(sim: Any) -> dict[str, Any]:
    return serving_behind_alb(sim, "serving-ip", 2, 6, target_type="ip", dereg_delay=10, prestop_sleep=10, grace=30)


def test_target_health_walks_initial_healthy_draining_unused(sim: Any, ip_mode: dict[str, Any]) -> None:
    core, apps, elb, arn, ns = ip_mode["core"], ip_mode["apps"], ip_mode["elb"], ip_mode["arn"], ip_mode["ns"]
    before = set(health(elb, arn))
    apps.patch_namespaced_deployment_scale("resnet", ns, {"spec": {"replicas": 7}})
    new_ip = wait_for(lambda: next(iter(set(health(elb, arn)) - before), None), 30, "a new pod target")
    seen: list[tuple[str, str | None]] = []

    def observe() -> str:
        d = elb.describe_target_health(TargetGroupArn=arn, Targets=[{"Id": new_ip, "Port": 8500}])["TargetHealthDescriptions"][0]
        state = (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
        if not seen or seen[-1] != state:
            seen.append(state)
        return state[0]

    wait_for(lambda: observe() == "healthy", 30, f"{new_ip} healthy", interval=0.02)
    pod = next(p for p in core.list_namespaced_pod(ns, label_selector="app=resnet").items if p.status.pod_ip == new_ip)
    core.delete_namespaced_pod(pod.metadata.name, ns)
    wait_for(lambda: observe() == "unused", 30, f"{new_ip} unused", interval=0.02)
    states = [s for s, _ in seen]
    assert states == ["initial", "healthy", "draining", "unused"] or states == ["initial", "initial", "healthy", "draining", "unused"], seen
    assert {r for s, r in seen if s == "initial"} <= {"Elb.RegistrationInProgress", "Elb.InitialHealthChecking"}
    assert ("draining", "Target.DeregistrationInProgress") in seen and ("unused", "Target.NotRegistered") in seen
    apps.patch_namespaced_deployment_scale("resnet", ns, {"spec": {"replicas": 6}})


def test_deregistration_delay_is_held_in_cluster_time(sim: Any, ip_mode: dict[str, Any]) -> None:
    core, elb, arn, ns = ip_mode["core"], ip_mode["elb"], ip_mode["arn"], ip_mode["ns"]
    healthy = wait_all_healthy(elb, arn, 6)
    pod = next(p for p in core.list_namespaced_pod(ns, label_selector="app=resnet").items if p.status.pod_ip in healthy and not p.metadata.deletion_timestamp)
    ip = pod.status.pod_ip
    core.delete_namespaced_pod(pod.metadata.name, ns)
    state = lambda: elb.describe_target_health(TargetGroupArn=arn, Targets=[{"Id": ip, "Port": 8500}])["TargetHealthDescriptions"][0]["TargetHealth"]["State"]  # noqa: E731
    # timed on the simulator's own clock: it runs slower than `speed` while the machine is busy (a CI
    # run beside it), and wall time x speed then counted cluster seconds that never passed
    clock = ClockReader(Path(sim.endpoints.extra["clock_file"]))
    wait_for(lambda: state() == "draining", 10, "draining", interval=0.01)
    start = clock.cluster_now()
    wait_for(lambda: state() == "unused", 10, "unused", interval=0.01)
    cluster_seconds = clock.cluster_now() - start
    assert 7 <= cluster_seconds <= 13, cluster_seconds  # deregistration_delay.timeout_seconds=10


def test_graceful_pod_deletion_loses_no_request(ip_mode: dict[str, Any]) -> None:
    core, elb, arn, ns = ip_mode["core"], ip_mode["elb"], ip_mode["arn"], ip_mode["ns"]
    healthy = wait_all_healthy(elb, arn, 6)
    load = Load(ip_mode["url"], 150, 4)
    load.wait_flowing()
    for pod in [p for p in core.list_namespaced_pod(ns, label_selector="app=resnet").items if p.status.pod_ip in healthy][:3]:
        core.delete_namespaced_pod(pod.metadata.name, ns)
    summary = load.result()
    assert summary["completed"] == 600
    assert summary["errors"] == 0, json.dumps(summary["outcomes"])
