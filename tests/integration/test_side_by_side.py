"""Two simulators at once on one machine, each with its own node group, TF Serving pods and ALB:
each leases its own address ranges, so every pod, metadata endpoint, NodePort and ALB binds, and
each ALB's targets are its own simulator's nodes.  Before the leases the second simulator took the
same 127.16.x.y addresses, its binds failed and its ALB sent traffic to the first one's pods."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
import requests

from cluster.waiting import wait_for
from tests.conftest import SimProcess, start_sim
from tests.integration.test_serving_alb import health, serving_behind_alb

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Any:
    sims: list[SimProcess] = []
    try:
        for name in ("left", "right"):  # no address range in either config: each takes a free one
            sims.append(start_sim(tmp_path_factory.mktemp(name)))
        yield sims
    finally:
        for sim in sims:
            sim.stop()


def _second_octets(addresses: list[str]) -> set[int]:
    return {ipaddress.IPv4Address(a.split(":")[0]).packed[1] for a in addresses}


def test_two_simulators_serve_side_by_side_each_from_its_own_addresses(pair: list[SimProcess]) -> None:
    left, right = pair
    ranges = [s.endpoints.extra["addresses"] for s in pair]
    assert ranges[0] != ranges[1], ranges
    setups = [serving_behind_alb(sim, "side", 2, 2, target_type="ip", dereg_delay=5) for sim in pair]
    urls = [s["url"] for s in setups]
    assert urls[0] != urls[1], urls
    targets = [list(health(s["elb"], s["arn"])) for s in setups]
    # each ALB's targets are its own pods, inside its own node range
    assert _second_octets(targets[0]).isdisjoint(_second_octets(targets[1])), targets
    for url in urls:
        r = requests.post(url, json={"instances": [[1.0, 2.0, 3.0]]}, timeout=10)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])

    # the left service goes away: the left ALB has nothing to send to, the right one still serves
    setups[0]["apps"].delete_namespaced_deployment("resnet", setups[0]["ns"])
    wait_for(lambda: requests.post(urls[0], json={"instances": [[1.0]]}, timeout=10).status_code >= 500, 60, "the left ALB to lose its targets")
    assert requests.post(urls[1], json={"instances": [[1.0]]}, timeout=10).status_code == 200

    for sim in pair:  # nothing failed to bind in either simulator
        log = sim.log_path.read_text(errors="replace")
        assert not [w for w in ("listen_failed", "Address already in use", "alb_port_unavailable") if w in log], log[-3000:]
