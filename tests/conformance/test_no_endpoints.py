"""A NodePort Service with no ready endpoint: kube-proxy's iptables rules REJECT the connection
(the client sees it refused or reset at once), so an ALB in front answers 502/503 in
milliseconds, not a 504 after its 60 s idle timeout.  Before, the simulated node port accepted the
connection and held it open.  Driven with a plain socket against the node's address."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
import requests
from kubernetes import client

from cluster.demo import alb_ingress
from cluster.waiting import wait_for
from tests.integration.helpers import namespace, node_group, wait_ready_nodes
from tests.integration.test_serving_alb import health, ingress_url, target_group_arn

pytestmark = pytest.mark.integration

LOOPBACK_ANNOTATION = "sim.spotchaos.io/loopback-address"


def _answer_within(address: str, port: int, seconds: float) -> str:
    """What a client sees within `seconds` of sending a request: "reset", "refused", "closed" or "held"."""
    with socket.socket() as s:
        s.settimeout(seconds)
        try:
            s.connect((address, port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return "closed" if s.recv(1024) == b"" else "answered"
        except ConnectionResetError:
            return "reset"
        except ConnectionRefusedError:
            return "refused"
        except TimeoutError:
            return "held"


def test_a_node_port_without_endpoints_rejects_at_once(sim: Any) -> None:
    core = sim.kube()[0]
    ns = namespace(core, "noendpoints")
    node_group(sim, "noep", ("m5.large",), 1)
    (node,) = wait_ready_nodes(core, "noep", 1, 60)
    address = node.metadata.annotations[LOOPBACK_ANNOTATION]
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "nobody"}, "spec": {"type": "NodePort", "selector": {"app": "nothing-runs-this"},
                                                                                         "ports": [{"name": "http", "port": 8500, "targetPort": 8500}]}})
    port = svc.spec.ports[0].node_port

    def listening() -> bool:
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex((address, port)) != 111 or None  # ECONNREFUSED: kube-proxy has not opened the port yet
    wait_for(listening, 20, "the node port to open")
    start = time.monotonic()
    seen = _answer_within(address, port, 5.0)
    assert seen in ("reset", "refused"), f"a node port without endpoints {seen} the connection"
    assert time.monotonic() - start < 1.0

    # an ALB in front (instance mode: the node port on the node) answers at once, 502 or 503
    net = client.NetworkingV1Api(sim.kube()[3])
    net.create_namespaced_ingress(ns, alb_ingress("nobody", {"nodegroup-under-test": "noep"}))
    url = ingress_url(net, ns, "nobody")
    elb = sim.aws("elbv2")
    arn = target_group_arn(elb, ns, "nobody")
    wait_for(lambda: health(elb, arn), 30, "the node registered as the target")
    start = time.monotonic()
    answer = requests.post(url, json={"instances": [[1.0]]}, timeout=70)
    assert answer.status_code in (502, 503) and answer.headers["Server"] == "awselb/2.0", (answer.status_code, answer.text[:200])
    assert time.monotonic() - start < 2.0, "the ALB waited for a connection the node port should have refused"
