"""A second Spot notice for an instance that has one: EC2 gives an instance one interruption
notice, so the control API refuses the second (409, naming the first's time and how to withdraw
it) instead of answering 200 with a time IMDS never shows and NTH never acts on; once withdrawn,
a new notice is delivered and IMDS shows its time.  Real HTTP to the control API and to the
instance's metadata service, read with botocore's IMDS fetcher's token flow."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.integration.helpers import node_group, wait_ready_nodes
from tests.integration.spot_helpers import control, instance_of

pytestmark = pytest.mark.integration


def _instance_action(metadata_url: str) -> dict[str, str] | None:
    put = urllib.request.Request(metadata_url + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    with urllib.request.urlopen(put, timeout=5) as resp:
        token = resp.read().decode()
    get = urllib.request.Request(metadata_url + "/latest/meta-data/spot/instance-action", headers={"X-aws-ec2-metadata-token": token})
    try:
        with urllib.request.urlopen(get, timeout=5) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as err:
        assert err.code == 404
        return None


def _delete(sim: Any, path: str) -> dict[str, Any]:
    req = urllib.request.Request(sim.endpoints.extra["control_url"] + path, method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return dict(json.loads(resp.read()))


def test_a_second_notice_is_refused_until_the_first_is_withdrawn(sim: Any) -> None:
    core = sim.kube()[0]
    node_group(sim, "second-notice", ("m5.large",), desired=1)
    iid = instance_of(wait_ready_nodes(core, "second-notice", 1, 60)[0])
    url = next(i["metadata_url"] for i in control(sim, "/v1/instances")[1]["instances"] if i["instance_id"] == iid)
    path = f"/v1/instances/{iid}/spot-interruption"

    status, first = control(sim, path, {"reclaim": False})
    assert status == 201
    assert _instance_action(url) == {"action": "terminate", "time": first["interruption_time"]}
    status, second = control(sim, path, {"reclaim": False, "seconds_before_interruption": 300})
    assert status == 409 and f"already has a Spot interruption notice (interruption at {first['interruption_time']})" in second["error"]
    assert "DELETE" in second["error"]
    assert _instance_action(url) == {"action": "terminate", "time": first["interruption_time"]}  # the first still stands

    assert _delete(sim, path)["cleared"] is True
    assert _instance_action(url) is None
    status, third = control(sim, path, {"reclaim": False})
    assert status == 201 and _instance_action(url) == {"action": "terminate", "time": third["interruption_time"]}
