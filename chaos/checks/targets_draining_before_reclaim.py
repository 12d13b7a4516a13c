"""`targets-draining-before-reclaim`: the node's load balancer targets start draining before the reclaim."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import BeforeReclaim
from chaos.fields import Duration


class DrainingBeforeReclaim(BeforeReclaim):
    milestone: ClassVar[str] = "target_draining"
    what: ClassVar[str] = "draining"
    check: Literal["targets-draining-before-reclaim"]
    min_margin: Duration = Field(0.0, description="The node's load balancer targets start draining this long before the reclaim.")
