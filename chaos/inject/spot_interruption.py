"""kind: spot-interruption, the fault Spot capacity is about: EC2's two-minute (or longer, through
FIS) interruption notice, then the reclaim.  Three ways in: AWS FIS
(aws:ec2:send-spot-instance-interruptions, one experiment per wave: FIS sends the notice when its
action starts and EC2 reclaims at the end of durationBeforeInterruption), the instances' metadata
(the simulator's metadata mock) or the EventBridge warning on NTH's queue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chaos.fields import Duration
from chaos.inject.base import FireContext, NodeInjector, select_text
from chaos.inject.fault import Fault
from chaos.inject.fis_documents import spot_template
from chaos.inject.metadata_notice import MetadataNotice
from chaos.inject.queue_event import QueueEvent
from chaos.journal.records import InjectedRecord


class FisSpotInterruption(NodeInjector):
    def describe(self, inj: SpotInterruption) -> str:
        return f"spot-interruption on {select_text(inj.select)}, reclaim {inj.notice:g}s after the notice"

    async def fire(self, ctx: FireContext, inj: SpotInterruption, index: int, wave: int) -> list[InjectedRecord]:
        notice = inj.notice
        chosen = ctx.choose(inj, index, wave)
        role = await ctx.fis_role()
        arns = [ctx.faults.instance_arn(c.instance) for c in chosen]
        eid = await ctx.start_fis(spot_template(arns, notice, role, ctx.alarms, ctx.tags), f"{inj.label(index)} wave {wave}")
        return ctx.injected(inj, index, wave, chosen, reclaim_in=notice, fis_experiment=eid)


class SpotInterruption(Fault):
    """A Spot interruption notice on each chosen node, then its reclaim `notice` later (the default kind)."""

    kind: Literal["spot-interruption"] = "spot-interruption"
    notice: Duration = Field(120.0, ge=120, le=900, description="Time from the notice to the reclaim (FIS durationBeforeInterruption, at least 2 minutes).")

    injectors = {"fis": FisSpotInterruption(), "metadata": MetadataNotice(), "sqs": QueueEvent()}
    notices = True

    @property
    def reclaim_after(self) -> float:
        return self.notice
