"""Open-loop arrival schedules (pure)."""

from __future__ import annotations

import pytest

from chaos.load.profile import ProfileError, constant, parse_duration, parse_steps, ramp, steps
from chaos.load.stats import Outcome, Recorder, classify, server_header


def test_constant_schedule_is_evenly_spaced() -> None:
    p = constant(400, 2)
    times = list(p.times())
    assert len(times) == p.total == 800
    assert times[0] == 0 and times[1] == pytest.approx(1 / 400)
    assert times[799] == pytest.approx(799 / 400)


def test_ramp_sends_the_integral_of_its_rate() -> None:
    p = ramp(100, 300, 10)
    times = list(p.times())
    assert len(times) == 2000
    assert sum(1 for t in times if t < 1) == pytest.approx(110, abs=1)  # 100 + 10 in the first second
    assert sum(1 for t in times if t >= 9) == pytest.approx(290, abs=1)
    assert times == sorted(times)


def test_steps_and_parsing() -> None:
    p = steps(parse_steps("1s:50,500ms:200"))
    times = list(p.times())
    assert len(times) == 150 and sum(1 for t in times if t >= 1) == 100
    odd = steps([(0.5, 3), (0.5, 3)])  # 1.5 requests per stage: one each
    assert odd.total == len(list(odd.times())) == 2
    assert parse_duration("2m") == 120 and parse_duration("250ms") == 0.25
    with pytest.raises(ProfileError, match="--duration"):
        parse_duration("soon")
    with pytest.raises(ProfileError, match="--rps"):
        constant(0, 10)


def test_outcome_classes() -> None:
    head = b"HTTP/1.1 502 Bad Gateway\r\nServer: awselb/2.0\r\nContent-Type: text/html\r\n\r\n"
    assert classify(502, server_header(head)) is Outcome.BALANCER_5XX
    assert classify(502, None) is Outcome.BACKEND_5XX
    assert classify(500, b"awselb/2.0") is Outcome.BACKEND_5XX
    assert classify(404, None) is Outcome.OTHER and classify(200, None) is Outcome.OK


def test_recorder_buckets_by_scheduled_second() -> None:
    r = Recorder()
    for i in range(10):
        r.record(i * 0.25, 0.010, Outcome.OK, 200)
    r.record(2.5, 0.5, Outcome.BALANCER_5XX, 502)
    r.flush()
    assert [b.total for _, b in sorted(r.buckets.items())] == [4, 4, 3]
    assert r.buckets[2].counts[Outcome.BALANCER_5XX] == 1 and r.statuses == {200: 10, 502: 1}
    assert r.ok_latency.get_total_count() == 10 and r.all_latency.get_max_value() >= 499_000


def test_per_second_histograms_only_when_asked_and_mergeable():
    from hdrh.histogram import HdrHistogram

    from chaos.load.stats import Outcome, Recorder

    plain, kept = Recorder(), Recorder(per_second_histograms=True)
    for r in (plain, kept):
        for i in range(100):
            r.record(0.5, 0.010 if i < 98 else 0.900, Outcome.OK, 200)
        r.flush()
    assert plain.buckets[0].hist is None and plain.buckets[0].as_dict()["latency_p99_ms"] is None
    second = kept.buckets[0].as_dict()
    assert second["latency_p99_ms"] == pytest.approx(900, rel=0.01)
    merged = HdrHistogram(1, 3_600_000_000, 3)
    merged.decode_and_add(kept.buckets[0].encoded_histogram().encode())
    assert merged.get_total_count() == 100 and merged.get_value_at_percentile(50) == pytest.approx(10_000, rel=0.01)
