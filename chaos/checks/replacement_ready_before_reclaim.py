"""`replacement-ready-before-reclaim`: capacity back before EC2 takes the node: a replacement Ready
before the notice's deadline."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import Check
from chaos.evidence.judging import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    UNDECIDED,
    UNWARNED,
    Evidence,
    HypothesisResult,
    NodeResult,
    seconds_text,
)
from chaos.fields import Duration, Scope


class ReplacementReadyBeforeReclaim(Check):
    scope: ClassVar[Scope] = Scope.NODE
    needs_notice: ClassVar[bool] = True
    check: Literal["replacement-ready-before-reclaim"]
    min_margin: Duration = Field(0.0, description="A replacement node is Ready at least this long before the reclaim the notice announced "
                                                  "(its deadline: a handler that ends the instance sooner itself is measured against the deadline too).")

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        results: list[NodeResult] = []
        for m in ev.nodes:
            deadline = m.expected_reclaim if m.expected_reclaim is not None else m.reclaimed
            if not m.reclaims or not m.warned:
                results.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, "no reclaim for this injection" if not m.reclaims else UNWARNED))
            elif deadline is None:
                results.append(NodeResult(m.node, m.instance, None, FAIL if ev.final else UNDECIDED, "no reclaim time known"))
            elif m.replacement_ready is not None:
                gap = round(deadline - m.replacement_ready, 3)
                results.append(NodeResult(m.node, m.instance, gap, PASS if gap >= self.min_margin else FAIL,
                                          "" if gap >= self.min_margin else f"replacement Ready {seconds_text(-gap)} after the reclaim" if gap < 0 else ""))
            elif ev.now >= deadline - self.min_margin or ev.final:
                results.append(NodeResult(m.node, m.instance, None, FAIL, "no replacement Ready by the reclaim"))
            else:
                results.append(NodeResult(m.node, m.instance, None, UNDECIDED, "no replacement Ready yet"))
        return self.result(name, results, f">= {self.min_margin:g}s before the reclaim", "min")
