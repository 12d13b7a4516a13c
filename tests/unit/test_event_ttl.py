"""The API server's Event TTL, decided from the Event's own timestamps."""

from __future__ import annotations

from datetime import datetime

from cluster.sim.kube.event_ttl import EVENT_TTL_S, expired, last_write


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _event(name: str, **fields: object) -> dict:
    return {"metadata": {"namespace": "default", "name": name, "creationTimestamp": "2026-11-27T10:00:00Z"}, **fields}


def test_the_last_write_is_the_latest_timestamp_the_event_carries():
    assert last_write(_event("a")) == _ts("2026-11-27T10:00:00Z")
    assert last_write(_event("b", lastTimestamp="2026-11-27T10:30:00Z")) == _ts("2026-11-27T10:30:00Z")
    assert last_write(_event("c", eventTime="2026-11-27T10:10:00.123456Z", series={"lastObservedTime": "2026-11-27T10:20:00.000000Z"})) \
        == _ts("2026-11-27T10:20:00Z")
    assert last_write({"metadata": {"name": "d"}, "lastTimestamp": "garbled"}) is None


def test_events_expire_an_hour_after_their_last_write_by_default():
    events = [_event("old"), _event("bumped", lastTimestamp="2026-11-27T10:40:00Z"), {"metadata": {"name": "undated", "namespace": "x"}}]
    now = _ts("2026-11-27T11:00:01Z")
    assert EVENT_TTL_S == 3600
    assert expired(events, now) == [("default", "old")]
    assert expired(events, _ts("2026-11-27T11:40:01Z")) == [("default", "old"), ("default", "bumped")]
    assert expired(events, now, ttl=7200) == []
