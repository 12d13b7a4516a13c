"""Any workload runs: a container that is not TF Serving runs as a stand-in process on its pod
IP, opens its containerPorts and probe ports once started, answers HTTP, is probed for readiness
over the network (httpGet, tcpSocket, grpc, exec), fails its `error-rate` share exactly, and on
deletion honours or ignores SIGTERM as its annotations say.  Real HTTP to the simulator's pods,
the Python kubernetes client for the API."""

from __future__ import annotations

import time

import requests

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    running_pods,
    wait_ready_nodes,
    wait_running,
)

GROUP = "standin-group"


def _app(name: str, *, probe: dict | None = None, ports: list[int] = (8080,), annotations: dict[str, str] | None = None, extra: dict | None = None) -> dict:
    d = deployment(name, 1, GROUP, cpu="100m")
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["image"] = "registry.example.com/shop/frontend:1.4"
    c["ports"] = [{"containerPort": p, "name": f"p{p}"} for p in ports]
    if probe is not None:
        c["readinessProbe"] = {"periodSeconds": 2, **probe}
    c.update(extra or {})
    d["spec"]["template"]["metadata"]["annotations"] = annotations or {}
    return d


def _setup(sim, ns_name: str):
    core, apps, *_ = sim.kube()
    if not [n for n in core.list_node(label_selector=f"nodegroup-under-test={GROUP}").items]:
        node_group(sim, GROUP, ("m5.2xlarge",), desired=1)
    wait_ready_nodes(core, GROUP, 1, timeout=60)
    return core, apps, namespace(core, ns_name)


def test_a_workload_answers_on_its_ports_and_is_probed_over_the_network(sim):
    core, apps, ns = _setup(sim, "standin-http")
    apps.create_namespaced_deployment(ns, _app("web", probe={"httpGet": {"path": "/healthz", "port": "p8080"}}, ports=[8080, 9090],
                                                annotations={"sim.spotchaos.io/start-seconds": "4"}))
    apps.create_namespaced_deployment(ns, _app("grpc", probe={"grpc": {"port": 50051}}, ports=[50051]))
    apps.create_namespaced_deployment(ns, _app("tcp", probe={"tcpSocket": {"port": 7000}}, ports=[]))  # only the probe's port
    (pod,) = wait_running(core, ns, "web", 1, timeout=60)
    answer = requests.get(f"http://{pod.status.pod_ip}:8080/anything", timeout=5)
    assert answer.status_code == 200 and answer.json() == {"pod": pod.metadata.name, "namespace": ns, "container": "app", "path": "/anything"}
    assert requests.get(f"http://{pod.status.pod_ip}:9090/", timeout=5).status_code == 200  # every containerPort
    (grpc,) = wait_running(core, ns, "grpc", 1, timeout=60)
    (tcp,) = wait_running(core, ns, "tcp", 1, timeout=60)
    assert requests.get(f"http://{tcp.status.pod_ip}:7000/", timeout=5).status_code == 200
    assert grpc.status.pod_ip


def test_a_failing_exec_probe_keeps_the_pod_out_and_a_passing_one_lets_it_in(sim):
    core, apps, ns = _setup(sim, "standin-exec")
    exec_probe = {"exec": {"command": ["cat", "/tmp/ready"]}}
    apps.create_namespaced_deployment(ns, _app("never", probe=exec_probe, annotations={"sim.spotchaos.io/exec-probe": "fail"}))
    (pod,) = wait_for(lambda: [p for p in core.list_namespaced_pod(ns, label_selector="app=never").items if p.status.phase == "Running"] or None, 60, "never Running")
    # the same pod with a passing exec probe, started after it, gets Ready; by then the failing one
    # had longer than its start and several probe periods, and is still out
    apps.create_namespaced_deployment(ns, _app("ok", probe=exec_probe))
    wait_running(core, ns, "ok", 1, timeout=60)
    assert requests.get(f"http://{pod.status.pod_ip}:8080/", timeout=5).status_code == 200  # running and listening
    assert not running_pods(core, ns, "never")


def test_the_error_rate_is_exact_and_sigterm_is_ignored_when_the_pod_says_so(sim):
    core, apps, ns = _setup(sim, "standin-behaviour")
    apps.create_namespaced_deployment(ns, _app("flaky", annotations={"sim.spotchaos.io/error-rate": "0.25"}))
    apps.create_namespaced_deployment(ns, _app("stubborn", annotations={"sim.spotchaos.io/sigterm": "ignore"}, extra={}))
    (flaky,) = wait_running(core, ns, "flaky", 1, timeout=60)
    url = f"http://{flaky.status.pod_ip}:8080/"
    wait_for(lambda: _answers(url), 30, "the stand-in listening")
    codes = [requests.get(url, timeout=5).status_code for _ in range(40)]
    assert codes.count(500) == 10 and codes.count(200) == 30
    (stubborn,) = wait_running(core, ns, "stubborn", 1, timeout=60)
    url = f"http://{stubborn.status.pod_ip}:8080/"
    wait_for(lambda: _answers(url), 30, "the stand-in listening")
    core.delete_namespaced_pod(stubborn.metadata.name, ns, grace_period_seconds=120)
    wait_for(lambda: core.read_namespaced_pod(stubborn.metadata.name, ns).metadata.deletion_timestamp, 10, "deletion started")
    # SIGTERM ignored: it still answers while the grace period runs (120 cluster seconds = 6 s at speed 20)
    assert requests.get(url, timeout=5).status_code == 200
    wait_for(lambda: not _answers(url), 30, "killed at the end of the grace period")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code in (200, 500)
    except requests.RequestException:
        return False


def test_an_honouring_stand_in_stops_listening_after_its_prestop(sim):
    core, apps, ns = _setup(sim, "standin-graceful")
    apps.create_namespaced_deployment(ns, _app("polite", extra={"lifecycle": {"preStop": {"sleep": {"seconds": 40}}}}))
    (pod,) = wait_running(core, ns, "polite", 1, timeout=60)
    url = f"http://{pod.status.pod_ip}:8080/"
    wait_for(lambda: _answers(url), 30, "the stand-in listening")
    began = time.monotonic()
    core.delete_namespaced_pod(pod.metadata.name, ns, grace_period_seconds=600)
    assert _answers(url)  # serving through its preStop sleep (40 cluster seconds = 2 s)
    wait_for(lambda: not _answers(url), 30, "stopped after SIGTERM")
    assert time.monotonic() - began < 600 / 20  # long before the grace period's end: it honoured SIGTERM


def test_a_jobs_stand_in_runs_its_time_and_the_job_completes(sim):
    core, _, ns = _setup(sim, "standin-job")
    batch = __import__("kubernetes").client.BatchV1Api(core.api_client)
    template = {"metadata": {"annotations": {"sim.spotchaos.io/run-seconds": "20"}},
                "spec": {"restartPolicy": "Never", "nodeSelector": {"nodegroup-under-test": GROUP},
                         "containers": [{"name": "report", "image": "registry.example.com/shop/nightly-report:3", "resources": {"requests": {"cpu": "100m"}}}]}}
    batch.create_namespaced_job(ns, {"metadata": {"name": "nightly"}, "spec": {"backoffLimit": 0, "template": template}})
    running = wait_for(lambda: [p for p in core.list_namespaced_pod(ns).items if p.status.phase == "Running"] or None, 60, "the Job's pod Running")
    assert len(running) == 1
    # 20 cluster seconds later (1 s at speed 20) the process exits 0: the pod Succeeded, the Job complete
    wait_for(lambda: core.read_namespaced_pod(running[0].metadata.name, ns).status.phase == "Succeeded", 30, "the pod Succeeded")
    job = wait_for(lambda: (lambda j: j if (j.status.succeeded or 0) == 1 else None)(batch.read_namespaced_job("nightly", ns)), 30, "the Job complete")
    assert any(c.type == "Complete" and c.status == "True" for c in job.status.conditions or [])


def test_readiness_waits_for_the_startup_probe(sim):
    """The kubelet runs no readiness probe before the startup probe succeeds: a pod whose startup
    probe never passes stays out, though its readiness probe (a tcp connect) would pass."""
    core, apps, ns = _setup(sim, "standin-startup")
    tcp = {"tcpSocket": {"port": 8080}}
    stuck = {"startupProbe": {"exec": {"command": ["check-warm"]}, "periodSeconds": 2}}
    apps.create_namespaced_deployment(ns, _app("warming", probe=tcp, annotations={"sim.spotchaos.io/exec-probe": "fail"}, extra=stuck))
    (pod,) = wait_for(lambda: [p for p in core.list_namespaced_pod(ns, label_selector="app=warming").items if p.status.phase == "Running"] or None, 60,
                      "warming Running")
    apps.create_namespaced_deployment(ns, _app("cold", probe=tcp))  # the same, without a startup probe, started after it
    wait_running(core, ns, "cold", 1, timeout=60)
    assert requests.get(f"http://{pod.status.pod_ip}:8080/", timeout=5).status_code == 200  # listening: its readiness probe would pass
    assert not running_pods(core, ns, "warming")
