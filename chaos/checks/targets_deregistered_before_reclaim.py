"""`targets-deregistered-before-reclaim`: the node's targets are gone from their target groups before the reclaim."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import BeforeReclaim
from chaos.fields import Duration


class DeregisteredBeforeReclaim(BeforeReclaim):
    milestone: ClassVar[str] = "targets_gone"
    what: ClassVar[str] = "deregistered"
    check: Literal["targets-deregistered-before-reclaim"]
    min_margin: Duration = Field(0.0, description="The node's targets are gone from the target group this long before the reclaim.")
