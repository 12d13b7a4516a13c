"""`cordoned-within`: each interrupted node is cordoned soon after its notice (NTH's cordon, or
Karpenter's karpenter.sh/disrupted taint, which is its cordon)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import MilestoneWithin
from chaos.fields import Duration


class CordonedWithin(MilestoneWithin):
    needs_notice: ClassVar[bool] = True
    milestone: ClassVar[str] = "cordon"
    check: Literal["cordoned-within"]
    max: Duration = Field(description="Each interrupted node is cordoned at most this long after its notice.")
