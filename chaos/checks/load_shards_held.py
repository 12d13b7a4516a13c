"""`load-shards-held`: added to every experiment whose load runs on the cluster: a shard lost mid-run
(its pod's node went away) is a drop in the load, not service errors; this check says so."""

from __future__ import annotations

from typing import ClassVar, Literal

from chaos.checks.base import Check
from chaos.evidence.judging import FAIL, PASS, UNDECIDED, Evidence, HypothesisResult
from chaos.fields import Scope
from chaos.journal import of
from chaos.journal.records import ShardLostRecord, ShardsRecord


class LoadShardsHeld(Check):
    """Added to every experiment whose load runs on the cluster: a shard lost mid-run (its pod's
    node went away) is a drop in the load, not service errors; this check says so."""

    scope: ClassVar[Scope] = Scope.TRAFFIC
    check: Literal["load-shards-held"]

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        """Every load shard sent its share to the end; a lost one is named, with what it took away
        (its share of the load from its last reported second), never counted as service errors."""
        started = next(iter(of(ev.records, ShardsRecord)), None)
        lost = of(ev.records, ShardLostRecord)
        shards = started.shards if started else 0
        bound = "every shard to its end"
        if lost:
            detail = "; ".join(f"shard {r.index}{' on ' + str(r.node) if r.node else ''} lost at t={r.t:g}s ({r.reason}): "
                               f"{r.share:.0%} of the load stopped after second {r.last_second}" for r in lost)
            return HypothesisResult(name, self.check, bound, f"{len(lost)} of {shards} lost", float(len(lost)), FAIL,
                                    detail + "; the load dropped, the service's numbers count only what was sent")
        if not ev.final:
            return HypothesisResult(name, self.check, bound, "so far none lost", 0.0, UNDECIDED)
        if started is None:
            return HypothesisResult(name, self.check, bound, "no shards started", None, FAIL, "the load never ran on the cluster")
        return HypothesisResult(name, self.check, bound, f"{shards} of {shards} held", 0.0, PASS)
