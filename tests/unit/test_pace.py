"""A run's pace (chaos/run/pace.py): `speed: auto` measures as fast as the traffic allows (a bucket
no wider than the narrowest judged window, holding enough requests), between a floor and a
ceiling; a fixed speed only narrows the bucket.  Pure: experiments in, a Pace out."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.errors import SpecError
from chaos.run.pace import (
    MIN_REQUESTS_PER_BUCKET,
    SPEED_CEILING,
    SPEED_FLOOR,
    narrowest_window,
    pace,
)
from chaos.spec import parse_experiment


def _spec(rate: float = 400, hypotheses: list[dict[str, Any]] | None = None, stop: list[dict[str, Any]] | None = None,
          ramp_to: float | None = None, speed: Any = "auto"):
    return parse_experiment({
        "name": "paced", "target": {"kind": "local", "speed": speed},
        "traffic": {"rate": rate, **({"ramp_to": ramp_to} if ramp_to else {})},
        "injections": [{"via": "fis"}],
        "hypotheses": hypotheses or [{"check": "error-rate", "max": 0.01}],
        "stop_conditions": stop or [],
    }, "paced")


def test_the_readme_experiment_measures_at_twice_speed_ten_with_half_second_buckets():
    spec = _spec(400, [{"check": "error-window", "max": "10s", "threshold": 0.05}, {"check": "window-error-rate", "max": 0.05, "window": "20s"}],
                 [{"error_rate": 0.5, "window": "20s"}])
    p = pace(spec, None)
    # 400 requests/s x 10 s / 200 per bucket = 20: each bucket is 10 cluster seconds, as at speed 10 with 1 s buckets
    assert p.speed == 20 and p.bucket == 0.5 and p.bucket_cluster == 10 and p.requests_per_bucket == MIN_REQUESTS_PER_BUCKET
    assert "set by the traffic" in p.reason


def test_a_narrow_window_narrows_the_bucket_and_slows_the_clock():
    spec = _spec(400, [{"check": "error-window", "max": "4s", "threshold": 0.05}])
    assert narrowest_window(spec) == 4
    p = pace(spec, None)
    assert p.speed == SPEED_FLOOR  # 400 x 4 / 200 = 8, under the floor
    assert p.bucket_cluster == 4 and p.bucket == 0.4
    # a stop condition's window counts too
    assert narrowest_window(_spec(stop=[{"error_rate": 0.5, "window": "5s"}])) == 5


@pytest.mark.parametrize("rate, speed", [(100, SPEED_FLOOR), (1000, SPEED_CEILING), (600, 30)])
def test_the_speed_stays_between_floor_and_ceiling(rate, speed):
    assert pace(_spec(rate), None).speed == speed


def test_a_ramp_is_paced_by_its_slowest_rate():
    assert pace(_spec(800, ramp_to=400), None).speed == 20


def test_a_fixed_speed_is_kept_and_only_the_bucket_follows_it():
    at_ten = pace(_spec(400), 10.0)
    assert at_ten.speed == 10 and at_ten.bucket == 1.0  # as every run had before
    narrow = pace(_spec(400, [{"check": "error-window", "max": "5s", "threshold": 0.05}]), 10.0)
    assert narrow.speed == 10 and narrow.bucket == 0.5 and narrow.bucket_cluster == 5
    assert pace(_spec(400), 1.0).bucket == 1.0  # slower than 10: never wider than a real second


@pytest.mark.parametrize("speed", [0, 5000, "fast"])
def test_a_bad_speed_names_the_field(speed):
    with pytest.raises(SpecError) as err:
        _spec(speed=speed)
    assert "target.speed" in str(err.value)


def test_a_runs_speed_is_its_pace_not_its_provisioning_speed():
    """Readers that extrapolate cluster time from wall time (an observer's note, the reports) use
    the speed the experiment measured at: under speed auto the run connected at the provisioning
    speed."""
    from chaos.gameday.follow import cluster_now
    from chaos.journal.records import ConnectedRecord, PaceRecord, PhaseRecord, run_speed

    connected = ConnectedRecord(speed=100.0, t=0.0, wall="2026-12-05T10:00:00.000Z")
    paced = PaceRecord(speed=20.0, bucket=0.5, bucket_cluster=10.0, requests_per_bucket=200.0, auto=True, reason="r", t=300.0,
                       wall="2026-12-05T10:00:03.000Z")
    assert run_speed([connected]) == 100.0
    assert run_speed([connected, paced]) == 20.0
    assert run_speed([]) == 1.0
    later = PhaseRecord(phase="inject", t=400.0, wall="2026-12-05T10:00:08.000Z")
    # two real seconds after the last record, at 20x: 40 cluster seconds on
    from datetime import datetime
    assert cluster_now([connected, paced, later], datetime.fromisoformat("2026-12-05T10:00:10+00:00").timestamp()) == 440.0
