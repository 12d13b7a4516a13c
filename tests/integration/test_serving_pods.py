"""The TF Serving pods themselves, reached on their pod IPs over real HTTP: the model loads
before the REST port opens (and before a probed pod turns Ready), a pod saturates at its
concurrency, SIGTERM is ignored by TF Serving but honoured by other servers, and an ALB with
no target answers 503."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client

from cluster.demo import alb_ingress, serving_deployment, serving_service
from cluster.published_clock import ClockReader
from cluster.waiting import wait_for
from tests.integration.helpers import namespace, node_group, wait_ready_nodes

pytestmark = pytest.mark.integration
GROUP = "serving-pods"
SELECTOR = {"nodegroup-under-test": GROUP}


@pytest.fixture(scope="session")  # once per worker: xdist may hand this module's tests to a worker twice over
def env(sim: Any) -> dict[str, Any]:
    core, apps, _, api_client = sim.kube()
    ns = namespace(core, GROUP)
    node_group(sim, GROUP, ("m5.xlarge",), 1)
    wait_ready_nodes(core, GROUP, 1, 60)
    # cluster time as the simulator keeps it: slower than `speed` while the machine is busy
    clock = ClockReader(Path(sim.endpoints.extra["clock_file"]))
    return {"core": core, "apps": apps, "net": client.NetworkingV1Api(api_client), "ns": ns, "clock": clock}


def deploy(env: dict[str, Any], name: str, annotations: dict[str, str], **kw: Any) -> Any:
    body = serving_deployment(name, 1, SELECTOR, **kw)
    body["spec"]["template"]["metadata"]["annotations"] = {f"sim.spotchaos.io/{k}": v for k, v in annotations.items()}
    env["apps"].create_namespaced_deployment(env["ns"], body)

    def running() -> Any:
        pods = env["core"].list_namespaced_pod(env["ns"], label_selector=f"app={name}").items
        return next((p for p in pods if p.status.phase == "Running" and p.status.pod_ip), None)

    return wait_for(running, 30, f"{name} running")


def ready(env: dict[str, Any], pod: Any) -> Any:
    p = env["core"].read_namespaced_pod(pod.metadata.name, env["ns"])
    return next((c for c in p.status.conditions or [] if c.type == "Ready" and c.status == "True"), None)


def status_url(pod: Any) -> str:
    return f"http://{pod.status.pod_ip}:8500/v1/models/resnet"


def refused(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return True
    return False


def test_rest_port_opens_after_the_model_loads_and_the_probe_waits_for_it(env: dict[str, Any]) -> None:
    pod = deploy(env, "slow-load", {"model-load-seconds": "40"})
    assert refused(status_url(pod))  # the model is still loading: nothing listens yet
    assert not ready(env, pod)
    cond = wait_for(lambda: ready(env, pod), 30, "Ready after the model loaded")
    started = env["core"].read_namespaced_pod(pod.metadata.name, env["ns"]).status.container_statuses[0].state.running.started_at
    assert (cond.last_transition_time - started).total_seconds() >= 40  # cluster time
    assert requests.get(status_url(pod), timeout=5).json()["model_version_status"][0]["state"] == "AVAILABLE"


def test_without_a_probe_the_pod_is_ready_before_its_model(env: dict[str, Any]) -> None:
    pod = deploy(env, "no-probe", {"model-load-seconds": "40"}, probe=False)
    assert ready(env, pod) is not None
    assert refused(status_url(pod))  # Ready, yet not serving: what the seed's manifest allows


def test_a_pod_saturates_at_its_concurrency(env: dict[str, Any]) -> None:
    pod = deploy(env, "one-worker", {"concurrency": "1", "service-time-ms": "150", "model-load-seconds": "0"})
    wait_for(lambda: ready(env, pod), 30, "ready")
    url = status_url(pod) + ":predict"

    def post(_: int) -> float:
        start = time.monotonic()
        assert requests.post(url, json={"instances": [[1.0]]}, timeout=10).status_code == 200
        return time.monotonic() - start

    with ThreadPoolExecutor(4) as pool:
        times = sorted(pool.map(post, range(4)))
    assert times[0] >= 0.15 and times[-1] >= 0.55, times  # one at a time: the fourth waits for three


def test_tf_serving_ignores_sigterm_and_serves_until_the_grace_period_ends(env: dict[str, Any]) -> None:
    pod = deploy(env, "tfs-stop", {"model-load-seconds": "0"}, grace=30)
    wait_for(lambda: ready(env, pod), 30, "ready")
    deleted_at = env["clock"].cluster_now()
    env["core"].delete_namespaced_pod(pod.metadata.name, env["ns"])
    assert requests.get(status_url(pod), timeout=5).status_code == 200  # still serving after SIGTERM
    wait_for(lambda: refused(status_url(pod)), 30, "killed at the end of the grace period")
    assert env["clock"].cluster_now() - deleted_at >= 25


def test_a_server_that_honours_sigterm_finishes_in_flight_requests_and_stops(env: dict[str, Any]) -> None:
    body = serving_deployment("graceful", 1, SELECTOR, grace=30)
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/resnet-server:1"  # not the TF Serving image
    body["spec"]["template"]["metadata"]["annotations"] = {"sim.spotchaos.io/model-load-seconds": "0", "sim.spotchaos.io/service-time-ms": "400", "sim.spotchaos.io/concurrency": "1"}
    env["apps"].create_namespaced_deployment(env["ns"], body)
    pod = wait_for(lambda: next((p for p in env["core"].list_namespaced_pod(env["ns"], label_selector="app=graceful").items if p.status.pod_ip), None), 30, "pod")
    wait_for(lambda: ready(env, pod), 30, "ready")
    body_bytes = b'{"instances": [[1.0]]}'
    request = b"POST /v1/models/resnet:predict HTTP/1.1\r\nHost: pod\r\nContent-Length: %d\r\n\r\n%s" % (len(body_bytes), body_bytes)
    with socket.create_connection((pod.status.pod_ip, 8500), timeout=10) as conn:
        conn.sendall(request)  # the request is on the wire before the deletion
        env["core"].delete_namespaced_pod(pod.metadata.name, env["ns"])
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]  # finished, not reset
    start = env["clock"].cluster_now()
    wait_for(lambda: refused(status_url(pod)), 10, "stopped accepting")
    assert env["clock"].cluster_now() - start < 25  # well before the grace period's end


def test_an_alb_without_targets_answers_503(env: dict[str, Any]) -> None:
    env["core"].create_namespaced_service(env["ns"], serving_service("empty"))
    env["net"].create_namespaced_ingress(env["ns"], alb_ingress("empty", SELECTOR, target_type="ip"))

    def url() -> str | None:
        ing = env["net"].read_namespaced_ingress("empty", env["ns"])
        entries = (ing.status and ing.status.load_balancer and ing.status.load_balancer.ingress) or []
        return f"http://{entries[0].ip}:{entries[0].ports[0].port if entries[0].ports else 80}/v1/models/resnet:predict" if entries else None

    r = requests.post(wait_for(url, 30, "ALB address"), json={"instances": [[1.0]]}, timeout=10)
    assert r.status_code == 503 and r.headers["Server"] == "awselb/2.0" and "503 Service Temporarily Unavailable" in r.text

