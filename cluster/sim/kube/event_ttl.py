"""Events expire: kube-apiserver keeps each Event for `--event-ttl` after it was last written
(default 1h0m0s; the Event is stored with an etcd lease of that TTL, renewed on each write), so a
long-lived cluster does not accumulate every Event it ever recorded.  Source: kube-apiserver's
flag reference ("--event-ttl duration, Default: 1h0m0s: Amount of time to retain events") and
pkg/registry/core/event/storage (the TTL function).

The simulator does not track writes apart from the object, so an Event's last write is read
from the object itself: the latest of lastTimestamp, eventTime, series.lastObservedTime and
metadata.creationTimestamp, which every writer sets (a recorder's count bump sets lastTimestamp).
Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

EVENT_TTL_S = 3600.0


def _seconds(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def last_write(event: dict[str, Any]) -> float | None:
    """The Unix time the Event was last written, as far as the object tells."""
    meta = event.get("metadata") or {}
    series = event.get("series") or {}
    times = [_seconds(v) for v in (event.get("lastTimestamp"), event.get("eventTime"), series.get("lastObservedTime"), meta.get("creationTimestamp"))]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def expired(events: Iterable[dict[str, Any]], now: float, ttl: float = EVENT_TTL_S) -> list[tuple[str, str]]:
    """(namespace, name) of each Event last written more than `ttl` seconds before `now`."""
    out = []
    for e in events:
        written = last_write(e)
        if written is not None and now - written > ttl:
            meta = e["metadata"]
            out.append((meta.get("namespace", ""), meta["name"]))
    return out
