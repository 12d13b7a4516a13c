"""Workers' measurements merged: two recorders that each saw half the requests, merged, equal one
recorder that saw them all (buckets, outcomes, statuses and every percentile, exactly); and a
worker's share of the schedule is every N-th send time, so the shares make up the schedule."""

from __future__ import annotations

import itertools
import json
import random

from chaos.load.profile import constant, ramp
from chaos.load.stats import OUTCOMES, Recorder, percentiles_ms


def _requests(n: int) -> list[tuple[float, float, int, int]]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        code = rng.choice([0, 0, 0, 0, 1, 2, 3])
        out.append((i / 500, rng.lognormvariate(-3.5, 0.8), code, 200 if code == 0 else 503))
    return out


def test_two_halves_merged_equal_the_whole():
    whole, halves = Recorder(per_second_histograms=True), [Recorder(per_second_histograms=True), Recorder(per_second_histograms=True)]
    for i, r in enumerate(_requests(5000)):
        whole.record_code(*r)
        halves[i % 2].record_code(*r)
    merged = Recorder(per_second_histograms=True)
    for half in halves:
        merged.merge(json.loads(json.dumps(half.encode())))  # as it crosses the pipe: JSON-ready
    whole.flush()
    assert merged.totals() == whole.totals()
    assert merged.statuses == whole.statuses
    assert percentiles_ms(merged.all_latency) == percentiles_ms(whole.all_latency)
    assert percentiles_ms(merged.ok_latency) == percentiles_ms(whole.ok_latency)
    assert [b.as_dict() for b in merged.buckets.values()] == [b.as_dict() for b in whole.buckets.values()]
    assert all(b.counts[o] > 0 for b in merged.buckets.values() for o in OUTCOMES[:4])


def test_every_nth_send_time_of_the_schedule_makes_up_the_schedule():
    for profile in (constant(333, 3), ramp(10, 700, 4)):
        whole = list(profile.times())
        shares = [list(itertools.islice(profile.times(), k, None, 3)) for k in range(3)]
        assert sorted(itertools.chain(*shares)) == whole and sum(map(len, shares)) == profile.total


def test_half_second_buckets_split_each_second_and_merge_only_with_their_width():
    """A fast cluster clock narrows the traffic bucket (chaos/run/pace.py): requests scheduled in
    [n x 0.5, (n+1) x 0.5) land in bucket n, and workers merge only buckets of one width."""
    import pytest

    narrow, wide = Recorder(per_second_histograms=True, bucket=0.5), Recorder(per_second_histograms=True)
    reqs = _requests(2000)  # 500 a second over 4 s
    for r in reqs:
        narrow.record_code(*r)
        wide.record_code(*r)
    narrow.flush()
    wide.flush()
    assert sorted(narrow.buckets) == list(range(8)) and sorted(wide.buckets) == list(range(4))
    for second, b in wide.buckets.items():
        halves = narrow.buckets[2 * second], narrow.buckets[2 * second + 1]
        assert halves[0].total + halves[1].total == b.total
        assert halves[0].total == sum(1 for t, *_ in reqs if second <= t < second + 0.5)
    other = Recorder(per_second_histograms=True, bucket=0.5)
    other.merge(narrow.encode())
    assert other.buckets[3].total == narrow.buckets[3].total
    with pytest.raises(ValueError, match="cannot merge"):
        Recorder(per_second_histograms=True).merge(narrow.encode())
    with pytest.raises(ValueError, match="bucket"):
        Recorder(bucket=2.0)
