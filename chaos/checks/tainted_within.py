"""`tainted-within`: each interrupted node gets its termination handler's taint soon after its notice."""

from __future__ import annotations

from typing import ClassVar, Literal

from chaos.checks.base import MilestoneWithin
from chaos.fields import Duration


class TaintedWithin(MilestoneWithin):
    needs_notice: ClassVar[bool] = True
    milestone: ClassVar[str] = "taint"
    check: Literal["tainted-within"]
    max: Duration
