"""`replacement-ready-within`: a replacement node is Ready soon after a reclaimed node's notice."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import MilestoneWithin
from chaos.fields import Duration


class ReplacementReadyWithin(MilestoneWithin):
    milestone: ClassVar[str] = "replacement_ready"
    spot_only: ClassVar[bool] = True
    check: Literal["replacement-ready-within"]
    max: Duration = Field(description="A replacement node is Ready at most this long after the notice.")
