"""`targets-unhealthy-within`: how long the load balancer kept a lost or interrupted node's healthy
targets in service."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import Check
from chaos.evidence.judging import (
    FAIL,
    NOT_APPLICABLE,
    Evidence,
    HypothesisResult,
    NodeResult,
    within,
)
from chaos.fields import Duration, Scope


class TargetsUnhealthyWithin(Check):
    scope: ClassVar[Scope] = Scope.NODE
    check: Literal["targets-unhealthy-within"]
    max: Duration = Field(description="Every load balancer target of the node that was healthy at the notice (or the loss) is out of service "
                                      "(unhealthy, draining or gone) at most this long after it.")

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        results: list[NodeResult] = []
        for m in ev.nodes:
            if not m.targets_at_notice and m.target_draining is None:
                results.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, "the node had no load balancer targets"))
            elif not m.healthy_at_notice:
                results.append(NodeResult(m.node, m.instance, None, FAIL, f"none of its {len(m.targets_at_notice)} targets was healthy at the notice: the health "
                                          "check never passes, so the load balancer fails open and cannot take this node's targets out by health"))
            else:
                results.extend(within([m], "targets_out", self.max, ev.now, ev.final, needs_notice=False))
        return self.result(name, results, f"<= {self.max:g}s after the notice", "max")
