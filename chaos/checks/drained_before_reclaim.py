"""`drained-before-reclaim`: every pod has left an interrupted node before EC2 reclaims it."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import BeforeReclaim
from chaos.fields import Duration


class DrainedBeforeReclaim(BeforeReclaim):
    milestone: ClassVar[str] = "drained"
    what: ClassVar[str] = "drained"
    check: Literal["drained-before-reclaim"]
    min_margin: Duration = Field(0.0, description="Every pod is gone at least this long before the instance is reclaimed.")
