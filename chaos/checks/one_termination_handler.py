"""`one-termination-handler`: one component handles each notice: two (NTH and Karpenter, say) act on
the same event twice."""

from __future__ import annotations

from typing import ClassVar, Literal

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
)
from chaos.fields import Scope


class OneTerminationHandler(Check):
    scope: ClassVar[Scope] = Scope.NODE
    needs_notice: ClassVar[bool] = True
    check: Literal["one-termination-handler"]

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        results: list[NodeResult] = []
        for m in ev.nodes:
            if not m.warned:
                results.append(NodeResult(m.node, m.instance, None, NOT_APPLICABLE, UNWARNED))
            elif len(m.handlers) > 1:
                results.append(NodeResult(m.node, m.instance, float(len(m.handlers)), FAIL, f"handled by {' and '.join(m.handlers)}: each tainted and drained it"))
            elif m.handlers or ev.final:
                results.append(NodeResult(m.node, m.instance, float(len(m.handlers)), PASS, m.handlers[0] if m.handlers else "no handler tainted it"))
            else:
                results.append(NodeResult(m.node, m.instance, 0.0, UNDECIDED, "no handler yet"))
        result = self.result(name, results, "one handler per notice", "max")
        result.measured = "; ".join(sorted({", ".join(m.handlers) or "none" for m in ev.nodes if m.warned})) or result.measured
        return result
