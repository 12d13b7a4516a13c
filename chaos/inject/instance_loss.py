"""kind: instance-loss, instances lost with no notice (a hardware failure, a Spot reclaim nobody saw coming) through
AWS FIS (aws:ec2:terminate-instances): nothing drains them, so what is measured is how long the
load balancer keeps sending to the dead targets and the errors that causes."""

from __future__ import annotations

from typing import Literal

from chaos.inject.base import FireContext, NodeInjector, select_text
from chaos.inject.fault import Fault
from chaos.inject.fis_documents import fis_template, instance_batches
from chaos.journal.records import InjectedRecord


def terminate_actions(instance_arns: list[str], name: str = "Lost") -> tuple[dict[str, object], dict[str, object]]:
    """(targets, actions) that terminate the instances, in targets FIS accepts."""
    targets, actions = {}, {}
    for target, arns in instance_batches(instance_arns, f"{name}-Instances"):
        targets[target] = {"resourceType": "aws:ec2:instance", "resourceArns": arns, "selectionMode": "ALL"}
        actions[f"Terminate-{target}"] = {"actionId": "aws:ec2:terminate-instances", "targets": {"Instances": target}}
    return targets, actions


class FisInstanceLoss(NodeInjector):
    def describe(self, inj: Fault) -> str:
        return f"instance-loss of {select_text(inj.select)}: terminated with no notice"

    async def fire(self, ctx: FireContext, inj: Fault, index: int, wave: int) -> list[InjectedRecord]:
        chosen = ctx.choose(inj, index, wave, self)
        role = await ctx.fis_role()
        targets, actions = terminate_actions([ctx.faults.instance_arn(c.instance) for c in chosen])
        eid = await ctx.start_fis(fis_template("spotchaos: instance loss", targets, actions, role, ctx.alarms, ctx.tags), f"{inj.label(index)} wave {wave}")
        # the loss is its own notice: reclaimed at once, never warned
        return ctx.injected(inj, index, wave, chosen, reclaim_in=0.0, fis_experiment=eid, warned=False)


class InstanceLoss(Fault):
    """The chosen nodes' instances terminated with no notice (the loss is its own notice: the notice checks are n/a for them)."""

    kind: Literal["instance-loss"]

    injectors = {"fis": FisInstanceLoss()}
