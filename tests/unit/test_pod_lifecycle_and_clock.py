from __future__ import annotations

import pytest

from cluster.pod_lifecycle import prestop_seconds, readiness_delay, stop_seconds
from cluster.sim.clock import SimClock, parse_time
from cluster.sim.kube.tables import human_duration


def test_prestop_forms():
    assert prestop_seconds({"lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 45"]}}}}) == 45
    assert prestop_seconds({"lifecycle": {"preStop": {"exec": {"command": ["sleep", "7.5"]}}}}) == 7.5
    assert prestop_seconds({"lifecycle": {"preStop": {"sleep": {"seconds": 20}}}}) == 20
    assert prestop_seconds({}) == 0


def test_tf_serving_ignores_sigterm_and_waits_the_whole_grace_period():
    tfs = {"spec": {"containers": [{"name": "m", "image": "tensorflow/serving:2.14.1"}]}}
    nginx = {"spec": {"containers": [{"name": "w", "image": "nginx", "lifecycle": {"preStop": {"sleep": {"seconds": 90}}}}]}}
    assert stop_seconds(tfs, 30) == 30
    assert stop_seconds(nginx, 30) == 30, "preStop is cut at the grace period"
    assert stop_seconds({"spec": {"containers": [{"name": "w", "image": "nginx"}]}}, 30) == 0


def test_readiness_delay():
    assert readiness_delay({"readinessProbe": {"initialDelaySeconds": 10, "periodSeconds": 5}}) == 11
    assert readiness_delay({}) == 0


def test_clock_runs_at_speed_and_formats_rfc3339():
    clock = SimClock(20)
    assert clock.real_seconds(120) == 6
    t = clock.timestamp()
    assert abs(parse_time(clock.micro_isoformat(t)) - t) < 1e-5
    assert clock.isoformat(0) == "1970-01-01T00:00:00Z"
    with pytest.raises(ValueError):
        SimClock(0)


def test_human_duration_like_kubectl():
    assert [human_duration(s) for s in (5, 119, 150, 3600, 3 * 86400 + 7200)] == ["5s", "119s", "2m30s", "60m", "3d2h"]
