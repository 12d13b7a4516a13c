"""What every check is: a model of its parameters (its `check` literal names it in experiments)
that judges the run's evidence, and the shapes most checks share, each judging one way.  A check
module subclasses one of these; the spec, the JSON Schema and the verdict take it from the
registry (chaos/checks/__init__.py)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from chaos.evidence.judging import (
    FAIL,
    NOT_APPLICABLE,
    UNDECIDED,
    Evidence,
    HypothesisResult,
    NodeResult,
    aggregate,
    before_reclaim,
    within,
)
from chaos.evidence.traffic_stats import TrafficStats
from chaos.fields import Duration, Scope, Strict


class Check(Strict):
    """A hypothesis of an experiment.  `scope` says what it judges and so when it can be decided
    while the run goes; `needs_notice`: it measures the response to a notice, so it is not
    applicable to a node lost without one."""

    scope: ClassVar[Scope]
    needs_notice: ClassVar[bool] = False
    check: str  # each check narrows it to its own literal
    name: str | None = None

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        raise NotImplementedError(f"{type(self).__name__} has no judge")

    def result(self, name: str, results: list[NodeResult], bound: str, worst: str) -> HypothesisResult:
        """The hypothesis from its nodes' results: the worst (`max` or `min`) of those that count."""
        return aggregate(name, self.check, bound, results, worst)


class MilestoneWithin(Check):
    """A node's `milestone` at most `max` after its notice (or its loss)."""

    scope: ClassVar[Scope] = Scope.NODE
    milestone: ClassVar[str]
    spot_only: ClassVar[bool] = False  # only nodes whose instance the injection reclaims
    max: Duration

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        nodes = [m for m in ev.nodes if not self.spot_only or m.reclaims]
        return self.result(name, within(nodes, self.milestone, self.max, ev.now, ev.final, self.needs_notice), f"<= {self.max:g}s after the notice", "max")


class BeforeReclaim(Check):
    """A node's `milestone` at least `min_margin` before its instance is reclaimed."""

    scope: ClassVar[Scope] = Scope.NODE
    needs_notice: ClassVar[bool] = True
    milestone: ClassVar[str]
    what: ClassVar[str]  # the milestone in words: "reclaimed before <what>"
    min_margin: Duration = Field(0.0)

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        results = before_reclaim(ev.nodes, self.milestone, self.min_margin, ev.now, ev.final, self.what)
        return self.result(name, results, f">= {self.min_margin:g}s before the reclaim", "min")


class TrafficCheck(Check):
    """A bound over the experiment's requests: `measure` gives (bound, measured, value, holds,
    detail); broken is failed at once, held is passed only at the end."""

    scope: ClassVar[Scope] = Scope.TRAFFIC

    def measure(self, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
        raise NotImplementedError(f"{type(self).__name__} measures nothing")

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        stats = ev.traffic
        if stats.requests == 0:
            return HypothesisResult(name, self.check, str(getattr(self, "max", "")), "no requests", None, FAIL if ev.final else UNDECIDED,
                                    "no traffic was measured")
        bound, measured, value, holds, detail = self.measure(stats)
        return HypothesisResult(name, self.check, bound, measured, value, ev.status_of(holds), detail)


__all__ = ["NOT_APPLICABLE", "BeforeReclaim", "Check", "MilestoneWithin", "TrafficCheck"]
