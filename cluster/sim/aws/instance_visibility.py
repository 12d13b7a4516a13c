"""How long EC2 shows a terminated instance (pure): "Terminated instances remain visible after
termination (for approximately one hour)" (EC2 API Reference, TerminateInstances), then
DescribeInstances no longer returns it.  moto keeps every instance it ever launched, so a
long-lived simulator's DescribeInstances (every controller's poll) grew with each experiment run
on it; the simulator forgets them as EC2 does.

The time of termination is when the simulator first saw the instance terminated (moto stamps
its own state reason with the wall clock, not the cluster's)."""

from __future__ import annotations

from collections.abc import Iterable

TERMINATED_VISIBLE_S = 3600.0


def expired(seen_terminated: dict[str, float], terminated_now: Iterable[str], now: float,
            visible_for: float = TERMINATED_VISIBLE_S) -> tuple[dict[str, float], list[str]]:
    """(when each terminated instance was first seen so, those to forget): the instances seen
    terminated more than `visible_for` cluster seconds ago.  An instance no longer terminated (or
    gone) is no longer tracked."""
    still = {iid: seen_terminated.get(iid, now) for iid in terminated_now}
    gone = sorted(iid for iid, since in still.items() if now - since > visible_for)
    return {iid: since for iid, since in still.items() if iid not in gone}, gone
