"""Port-forward to a TF Serving pod through the simulated API server, with the real clients:
kubectl port-forward (SPDY/3.1 tunneled over a WebSocket, kubectl's default since 1.31), several
connections through one session, a port nothing listens on answered on the error stream; and
the kubernetes Python client's portforward (the WebSocket channel protocol)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes.stream import portforward

from cluster.demo import serving_deployment
from cluster.waiting import wait_for
from tests.integration.helpers import namespace, node_group, wait_ready_nodes, wait_running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")  # once per worker: xdist may hand this module's tests to a worker twice over
def serving_pod(sim: Any) -> tuple[str, str]:
    core, apps, _, _ = sim.kube()
    node_group(sim, "pf-serving", ("m5.large",), desired=1)
    wait_ready_nodes(core, "pf-serving", 1, 60)
    ns = namespace(core, "pf-serving")
    apps.create_namespaced_deployment(ns, serving_deployment("resnet", 1, {"nodegroup-under-test": "pf-serving"}))
    (pod,) = wait_running(core, ns, "resnet", 1, 60)
    wait_for(lambda: any("Exporting HTTP/REST API" in line for line in core.read_namespaced_pod_log(pod.metadata.name, ns).splitlines()),
             60, "TF Serving listening")
    return ns, pod.metadata.name


class PortForward:
    """`kubectl port-forward` running, with what it printed."""

    def __init__(self, command: list[str]) -> None:
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True).start()

    def local_port(self) -> int:
        line = wait_for(lambda: next((x for x in self.out if x.startswith("Forwarding from 127.0.0.1:")), None), 30,
                        "kubectl to listen", describe=lambda: (self.out, self.err))
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
        assert match is not None, line
        return int(match.group(1))


@pytest.fixture
def kubectl_port_forward(sim: Any) -> Iterator[Any]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    running: list[PortForward] = []

    def start(*args: str) -> PortForward:
        pf = PortForward(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "port-forward", *args])
        running.append(pf)
        return pf

    yield start
    for pf in running:
        pf.proc.kill()
        pf.proc.wait(10)


def _get(port: int, path: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=20) as answer:
        return answer.status, json.loads(answer.read())


def test_kubectl_port_forward_reaches_the_pod_over_several_connections(serving_pod: tuple[str, str], kubectl_port_forward: Any) -> None:
    ns, name = serving_pod
    pf = kubectl_port_forward("-n", ns, f"pod/{name}", ":8500")
    port = pf.local_port()
    status, model = _get(port, "/v1/models/resnet")
    assert status == 200 and model["model_version_status"][0]["state"] == "AVAILABLE", model
    with ThreadPoolExecutor(4) as pool:  # one session, several connections at once: a stream pair each
        answers = list(pool.map(lambda _: _get(port, "/v1/models/resnet:predict", b'{"instances": [[1.0]]}'), range(8)))
    assert all(status == 200 and "predictions" in body for status, body in answers), answers
    assert sum("Handling connection for" in line for line in pf.out) == 9
    assert pf.proc.poll() is None, pf.err  # the session outlives its connections


def test_a_port_nothing_listens_on_is_answered_on_the_error_stream(serving_pod: tuple[str, str], kubectl_port_forward: Any) -> None:
    ns, name = serving_pod
    pf = kubectl_port_forward("-n", ns, f"pod/{name}", ":9999")
    port = pf.local_port()
    with pytest.raises(OSError):
        _get(port, "/")
    wait_for(lambda: any("error forwarding port 9999 to pod" in line and "connection refused" in line for line in pf.err), 20,
             "kubectl to print the error stream's message", describe=lambda: pf.err)


def test_the_python_clients_portforward(sim: Any, serving_pod: tuple[str, str]) -> None:
    core, _, _, _ = sim.kube()
    ns, name = serving_pod
    forward = portforward(core.connect_get_namespaced_pod_portforward, name, ns, ports="8500")
    sock = forward.socket(8500)
    sock.settimeout(20)
    sock.sendall(b"GET /v1/models/resnet HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n")
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), received[:200]
    assert json.loads(body)["model_version_status"][0]["state"] == "AVAILABLE"
    assert forward.error(8500) is None


def test_kubectl_before_1_31_gets_a_clear_refusal(sim: Any, serving_pod: tuple[str, str]) -> None:
    """kubectl 1.30 upgrades to plain SPDY, which the simulator does not serve: it says so."""
    old = shutil.which("kubectl.1.30") or "/usr/lib/google-cloud-sdk/bin/kubectl.1.30"
    if not shutil.which(old):
        pytest.skip("kubectl 1.30 is not installed")
    ns, name = serving_pod
    proc = subprocess.Popen([old, "--kubeconfig", sim.endpoints.kubeconfig, "port-forward", "-n", ns, f"pod/{name}", ":8500"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode != 0 and "WebSocket upgrade only (kubectl 1.31 or later" in err, err
