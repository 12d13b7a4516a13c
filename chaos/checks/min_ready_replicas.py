"""`min-ready-replicas`: the serving Deployment's Ready replicas never fall below a share of desired
after the first injection."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import Check
from chaos.evidence.judging import FAIL, UNDECIDED, Evidence, HypothesisResult, share_text
from chaos.evidence.milestones import ready_share
from chaos.fields import Scope, Share


class MinReadyReplicas(Check):
    scope: ClassVar[Scope] = Scope.CAPACITY
    check: Literal["min-ready-replicas"]
    min: Share = Field(description="Ready replicas never fall below this share of desired after the first injection.")

    def judge(self, name: str, ev: Evidence) -> HypothesisResult:
        share, at = ready_share(ev.records, ev.first_injection) if ev.first_injection is not None else (None, None)
        if share is None:
            return HypothesisResult(name, self.check, f">= {share_text(self.min)}", "-", None, FAIL if ev.final else UNDECIDED,
                                    "the serving Deployment was not observed")
        return HypothesisResult(name, self.check, f">= {share_text(self.min)} of desired", share_text(share), share, ev.status_of(share >= self.min),
                                f"lowest at t={at:.0f}s")
