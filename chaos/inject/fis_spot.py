"""Spot interruptions through AWS FIS (aws:ec2:send-spot-instance-interruptions): one experiment
per wave; FIS sends the notice when its action starts and EC2 reclaims at the end."""

from __future__ import annotations

from chaos.inject.base import FireContext, NodeInjector, select_text
from chaos.inject.fis_documents import spot_template
from chaos.journal.records import InjectedRecord
from chaos.spec import Injection


class FisSpotInterruption(NodeInjector):
    def describe(self, inj: Injection) -> str:
        return f"spot-interruption on {select_text(inj.select)}, reclaim {inj.notice:g}s after the notice"

    async def fire(self, ctx: FireContext, inj: Injection, index: int, wave: int) -> list[InjectedRecord]:
        chosen = ctx.choose(inj, index, wave)
        role = await ctx.fis_role()
        arns = [ctx.faults.instance_arn(c.instance) for c in chosen]
        eid = await ctx.start_fis(spot_template(arns, inj.notice, role, ctx.alarms, ctx.tags), f"{inj.label(index)} wave {wave}")
        return ctx.injected(inj, index, wave, chosen, reclaim_in=inj.notice, fis_experiment=eid)
