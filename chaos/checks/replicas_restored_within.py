"""`replicas-restored-within`: the serving Deployment is back to its desired Ready replicas soon
after a node's notice (or its loss)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from chaos.checks.base import MilestoneWithin
from chaos.fields import Duration


class ReplicasRestoredWithin(MilestoneWithin):
    milestone: ClassVar[str] = "replicas_restored"
    check: Literal["replicas-restored-within"]
    max: Duration = Field(description="Ready serving replicas are back to desired at most this long after the notice.")
