"""The traffic fold the run keeps record by record gives the numbers `traffic_stats` gives over the
whole journal: totals, the error rate over the last window, the seconds since a time, whatever the
order the records came in and however often a second was superseded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.evidence.traffic_fold import TrafficFold
from chaos.evidence.traffic_stats import traffic_stats

_record = st.builds(lambda second, requests, errors: {"kind": "traffic", "t": float(second), "second": second, "start_t": float(second),
                                                      "end_t": second + 1.0, "requests": requests, "backend_5xx": min(errors, requests)},
                    st.integers(0, 40), st.integers(0, 500), st.integers(0, 50))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_record, st.just({"kind": "node", "t": 1.0})), max_size=80), st.floats(1, 20), st.floats(0, 40))
def test_the_fold_agrees_with_the_whole_journal(records, window, since):
    fold = TrafficFold()
    for r in records:
        fold.add(r)
    whole = traffic_stats(records)
    assert (fold.requests, fold.errors) == (whole.requests, whole.errors)
    assert fold.recent_rate(window) == whole.recent_rate(window)
    assert [s.second for s in fold.since(since).seconds] == [s.second for s in whole.seconds if s.start_t >= since]
    assert fold.recent(3) == whole.seconds[-3:]
