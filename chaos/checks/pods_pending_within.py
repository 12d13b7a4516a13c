"""`pods-pending-within`: no pod waits for capacity longer than a bound once the first injection
went out.  A pod Pending after an interruption is one the cluster had no room for (its node is
gone and the replacement, or the autoscaler's new node, is not Ready yet): this check puts a
number on that wait, where `replicas-restored-within` only says when the Deployment was whole.
Reads the pod records: each pod's time from its first Pending record at or after the first
injection to its first record that is no longer Pending (Running, or deleted).  DaemonSet pods
are left out: they wait for their node, not for room.  The detail names the longest-waiting pod
and the scheduler's latest reason for it (its FailedScheduling event)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import Check
from chaos.evidence.judging import FAIL, Evidence, HypothesisResult, seconds_text
from chaos.fields import Duration, Scope
from chaos.journal import of
from chaos.journal.records import EventRecord, PodRecord


class PodsPendingWithin(Check):
    scope: ClassVar[Scope] = Scope.CAPACITY
    check: Literal["pods-pending-within"]
    max: Duration = Field(description="No pod (but a DaemonSet's) stays Pending longer than this after the first injection.")

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        bound = f"<= {self.max:g}s Pending"
        if ev.first_injection is None:
            return HypothesisResult(name, self.check, bound, "-", None, ev.status_of(True), "nothing was injected yet")
        waits = pending_waits(of(ev.records, PodRecord), ev.first_injection, ev.now)
        if not waits:
            return HypothesisResult(name, self.check, bound, "no pod Pending", 0.0, ev.status_of(True))
        pod, (waited, still) = max(waits.items(), key=lambda item: item[1][0])
        detail = f"{pod} {'still Pending after' if still else 'Pending for'} {seconds_text(waited)}; {len(waits)} pod(s) waited"
        why = scheduler_said(of(ev.records, EventRecord), pod)
        if why:
            detail += f"; the scheduler: {why}"
        if waited > self.max:
            return HypothesisResult(name, self.check, bound, f"worst {seconds_text(waited)}", waited, FAIL, detail)
        return HypothesisResult(name, self.check, bound, f"worst {seconds_text(waited)}", waited, ev.status_of(True), detail)


def pending_waits(pods: list[PodRecord], since: float, now: float) -> dict[str, tuple[float, bool]]:
    """Each pod that was Pending at or after `since`: (how long it waited, whether it still waits at `now`)."""
    started: dict[str, float] = {}
    out: dict[str, tuple[float, bool]] = {}
    for r in sorted(pods, key=lambda r: r.t):
        if r.owner_kind == "DaemonSet" or r.t < since:
            continue
        pending = r.phase == "Pending" and not r.deleted
        if pending and r.pod not in started:
            started[r.pod] = r.t
        elif not pending and r.pod in started:
            out[r.pod] = (round(r.t - started.pop(r.pod), 3), False)
    for pod, t in started.items():
        out[pod] = (round(now - t, 3), True)
    return out


def scheduler_said(events: list[EventRecord], pod: str) -> str | None:
    """The scheduler's latest reason a pod ("namespace/name") could not be placed (its FailedScheduling message)."""
    name = pod.rsplit("/", 1)[-1]
    said = [e for e in events if e.reason == "FailedScheduling" and e.object == f"Pod/{name}" and e.message]
    return said[-1].message if said else None
