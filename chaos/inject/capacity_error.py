"""kind: capacity-error, insufficient capacity through AWS FIS: a node group's launches fail in the chosen AZs for a while;
no node is interrupted by it.  An Auto Scaling group gets aws:ec2:asg-insufficient-instance-capacity-error;
a Karpenter NodePool (no group behind it) gets aws:ec2:api-insufficient-instance-capacity-error on
the launches of Karpenter's IAM role, in the selected AZ or the pool's."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field, model_validator

from chaos.errors import InjectionError
from chaos.fields import Duration
from chaos.inject.base import FireContext
from chaos.inject.fault import Fault
from chaos.inject.fis_documents import capacity_error_template, launch_error_template
from chaos.inject.selection import Candidate
from chaos.journal.records import InjectedRecord


class FisCapacityError:
    @staticmethod
    def choose(inj: Fault, nodes: list[Candidate], taken: set[str], seed: str, where: str) -> list[Candidate]:
        return []

    def describe(self, inj: CapacityError) -> str:
        return f"capacity error on {inj.select.node_group} for {inj.duration:g}s ({inj.percentage}% of launches)"

    def plan(self, inj: CapacityError, index: int, chosen: list[Candidate]) -> dict[str, Any]:
        return {"injection": inj.label(index), "via": inj.via, "kind": inj.kind, "node_group": inj.select.node_group, "at": inj.at,
                "waves": inj.waves, "duration": inj.duration}

    async def fire(self, ctx: FireContext, inj: CapacityError, index: int, wave: int) -> list[InjectedRecord]:
        role = await ctx.fis_role()
        group = inj.select.node_group or ""
        try:
            arn, azs = await asyncio.to_thread(ctx.faults.asg_arn, group, ctx.cluster_name or "")
            chosen_azs = [inj.select.az] if inj.select.az else azs
            template = capacity_error_template(arn, chosen_azs, inj.duration, inj.percentage, role, ctx.alarms, ctx.tags)
        except InjectionError:
            pool = [c for c in ctx.nodes() if c.group == group]
            launcher = await asyncio.to_thread(ctx.faults.launcher_role, ctx.cluster_name or "") if pool else None
            if launcher is None:
                raise
            chosen_azs = [inj.select.az] if inj.select.az else sorted({c.az for c in pool if c.az})
            template = launch_error_template(launcher, chosen_azs, inj.duration, inj.percentage, role, ctx.alarms, ctx.tags)
        eid = await ctx.start_fis(template, f"{inj.label(index)} wave {wave}")
        ctx.journal.write(InjectedRecord(injection=inj.label(index), via="fis", action="capacity-error", wave=wave, fis_experiment=eid, group=inj.select.node_group, azs=chosen_azs, until_t=round(ctx.clock.now() + inj.duration, 3)))
        return []


class CapacityError(Fault):
    """A node group's launches fail with InsufficientInstanceCapacity in select.az (or all its AZs) for
    `duration`; no node is interrupted."""

    kind: Literal["capacity-error"]
    duration: Duration = Field(300.0, gt=0, le=43200, description="How long launches fail.")
    percentage: int = Field(100, ge=1, le=100, description="Share of launches that fail.")

    injectors = {"fis": FisCapacityError()}
    wrong_via = "capacity errors are injected through FIS (aws:ec2:asg-insufficient-instance-capacity-error): use via fis"
    counts_nodes = False

    @model_validator(mode="after")
    def _group(self) -> CapacityError:
        if not self.select.node_group:
            raise ValueError("a capacity-error needs select.node_group: the node group whose launches fail")
        return self
