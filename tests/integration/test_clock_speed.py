"""A simulator started with `speed: auto` lets a run set its clock's speed over the control API
(PUT /v1/clock/speed): every reader follows (the published clock file the harness reads, the
ConfigMap kubectl shows), and cluster time keeps running without a jump.  A simulator at a fixed
speed refuses, saying how to start one that allows it.  Real HTTP, real clock file."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from cluster.published_clock import ClockReader
from cluster.sim.config import AUTO_START_SPEED
from cluster.waiting import wait_for
from tests.conftest import start_sim


def _call(handle: Any, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(handle.endpoints.extra["control_url"] + path, method=method, headers={"Content-Type": "application/json"},
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_run_sets_the_speed_of_an_auto_simulator(tmp_path: Path):
    handle = start_sim(tmp_path / "auto", speed="auto")
    try:
        status, clock = _call(handle, "GET", "/v1/clock")
        assert status == 200 and clock["adjustable"] is True and clock["speed"] == AUTO_START_SPEED
        reader = ClockReader(Path(handle.endpoints.extra["clock_file"]))
        before = reader.cluster_now()
        status, clock = _call(handle, "PUT", "/v1/clock/speed", {"speed": 5, "reason": "test"})
        assert status == 200 and clock["speed"] == 5
        assert wait_for(lambda: reader.reading().speed == 5, 5, "the clock file to carry the new speed")
        # no jump: cluster time went on from where it was, now at 5x
        after = reader.cluster_now()
        assert 0 <= after - before < 5
        real = time.monotonic()
        start, stalled = reader.cluster_now(), reader.reading().stalled_total
        wait_for(lambda: time.monotonic() - real >= 1.0 or None, 5, "a real second")
        ran = reader.cluster_now() - start
        # a starved machine makes the clock stand still rather than fall behind, and it says so: each
        # real second is 5 cluster seconds or a stall the clock counts (read once it re-anchored)
        later = wait_for(lambda: (r := reader.reading()).anchor_mono >= real + 1.0 and r or None, 5, "the clock's next reading")
        stood = later.stalled_total - stalled
        assert 3 <= ran + 5 * stood <= 7, f"cluster time ran {ran:.1f}s in a real second at speed 5, and stood still {stood:.2f}s"
        core = handle.kube()[0]
        shown = wait_for(lambda: core.read_namespaced_config_map("spotchaos-sim", "kube-system").data.get("clockSpeed") == "5.0" or None, 10,
                         "the ConfigMap to show the new speed")
        assert shown
        # bad input names the field
        status, body = _call(handle, "PUT", "/v1/clock/speed", {"speed": 0})
        assert status == 400 and "speed" in body["error"]
    finally:
        handle.stop()


def test_a_fixed_speed_simulator_refuses_and_says_how(sim):
    status, body = _call(sim, "PUT", "/v1/clock/speed", {"speed": 50})
    assert status == 409 and "--speed auto" in body["error"]
    status, clock = _call(sim, "GET", "/v1/clock")
    assert clock["adjustable"] is False and clock["speed"] == 20
