"""kind: az-power-interruption, the EC2 and Auto Scaling part of FIS's scenario "AZ Availability: Power Interruption": every
instance of the cluster in one AZ loses power and the cluster's groups cannot launch there until
it is back.  One FIS experiment with the scenario's actions:

- Stop-Instances, `aws:ec2:stop-instances` with `startInstancesAfterDuration` = the duration and
  `completeIfInstancesTerminated` (an Auto Scaling group terminates the stopped instances it
  replaces), over the AZ's on-demand instances, filtered `State.Name=running` and
  `Placement.AvailabilityZone` as the scenario filters them;
- Pause-ASG-Scaling, `aws:ec2:asg-insufficient-instance-capacity-error` in the AZ for the
  duration, over the cluster's groups that launch there (at most 5 per action);
- the AZ's Spot instances: EC2 refuses to stop a Spot instance of a one-time request (every Spot
  instance an Auto Scaling group launches), so the scenario cannot stop them; power lost, they are
  gone: terminated with no notice (`aws:ec2:terminate-instances`), or, with `spot_notice`, sent
  FIS's Spot interruption first, an option of ours.

The scenario targets by the `AzImpairmentPower` tag; spotchaos names the cluster's instances and
groups, so the blast radius is the cluster under test.  Sources: FIS user guide, "AZ
Availability: Power Interruption" and the actions reference (aws:ec2:stop-instances); EC2's
UnsupportedOperation for StopInstances on a one-time Spot instance."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field, model_validator

from chaos.errors import InjectionError
from chaos.fields import Duration
from chaos.inject.base import FireContext, NodeInjector
from chaos.inject.fault import Fault
from chaos.inject.fis_documents import (
    capacity_error_action,
    fis_template,
    instance_batches,
    iso_duration,
    spot_actions,
)
from chaos.inject.instance_loss import terminate_actions
from chaos.inject.selection import Candidate, matching
from chaos.journal.records import InjectedRecord

MAX_GROUPS_PER_ACTION = 5  # FIS quota: target Auto Scaling groups per capacity-error action


def stop_actions(instance_arns: list[str], az: str, duration: float) -> tuple[dict[str, Any], dict[str, Any]]:
    targets, actions = {}, {}
    for target, arns in instance_batches(instance_arns, "EC2-Instances"):
        targets[target] = {"resourceType": "aws:ec2:instance", "resourceArns": arns, "selectionMode": "ALL",
                           "filters": [{"path": "State.Name", "values": ["running"]}, {"path": "Placement.AvailabilityZone", "values": [az]}]}
        actions[f"Stop-{target}"] = {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": target},
                                     "parameters": {"startInstancesAfterDuration": iso_duration(duration), "completeIfInstancesTerminated": "true"}}
    return targets, actions


def power_interruption_template(on_demand: list[str], spot: list[str], groups: list[str], inj: AzPowerInterruption, role_arn: str, alarms: list[str],
                                tags: dict[str, str]) -> dict[str, Any]:
    """The experiment template (pure): ARNs of the AZ's on-demand and Spot instances and of the groups."""
    az = inj.select.az or ""
    targets: dict[str, Any] = {}
    actions: dict[str, Any] = {}
    parts = [stop_actions(on_demand, az, inj.duration) if on_demand else ({}, {}),
             (spot_actions(spot, inj.notice) if inj.spot_notice else terminate_actions(spot, "Spot")) if spot else ({}, {})]
    for n in range(0, len(groups), MAX_GROUPS_PER_ACTION):
        parts.append(capacity_error_action(groups[n: n + MAX_GROUPS_PER_ACTION], [az], inj.duration, 100, f"Pause-ASG-Scaling-{n // MAX_GROUPS_PER_ACTION + 1}"))
    for t, a in parts:
        targets |= t
        actions |= a
    return fis_template(f"spotchaos: AZ power interruption in {az}", targets, actions, role_arn, alarms, tags)


class FisAzPowerInterruption(NodeInjector):
    def describe(self, inj: AzPowerInterruption) -> str:
        spot = f"Spot nodes get the notice, reclaimed after {inj.notice:g}s" if inj.spot_notice else "Spot nodes lost without notice"
        return f"az-power-interruption in {inj.select.az}: every node there stops for {inj.duration:g}s ({spot}), no launches there meanwhile"

    @staticmethod
    def choose(inj: AzPowerInterruption, nodes: list[Candidate], taken: set[str], seed: str, where: str) -> list[Candidate]:
        """Every Ready node in the AZ (of the node group or capacity type, when the selection names one)."""
        chosen = [c for c in matching(inj.select, nodes) if c.instance not in taken]
        if not chosen:
            raise InjectionError(f"{where}.select: no Ready node of the cluster in {inj.select.az}; check select.az (the cluster's nodes are in "
                                 f"{', '.join(sorted({c.az for c in nodes if c.az})) or 'no AZ'})")
        return chosen

    async def fire(self, ctx: FireContext, inj: AzPowerInterruption, index: int, wave: int) -> list[InjectedRecord]:
        chosen = ctx.choose(inj, index, wave, self)
        spot = [c for c in chosen if c.capacity == "SPOT"]
        on_demand = [c for c in chosen if c.capacity != "SPOT"]
        role = await ctx.fis_role()
        groups = await asyncio.to_thread(ctx.faults.cluster_groups, ctx.cluster_name or "", inj.select.az or "")
        arn = ctx.faults.instance_arn
        template = power_interruption_template([arn(c.instance) for c in on_demand], [arn(c.instance) for c in spot], groups, inj, role, ctx.alarms, ctx.tags)
        eid = await ctx.start_fis(template, f"{inj.label(index)} wave {wave}")
        ctx.journal.write(InjectedRecord(injection=inj.label(index), via="fis", action="capacity-error", wave=wave, fis_experiment=eid, group=", ".join(g.rsplit("autoScalingGroupName/", 1)[-1] for g in groups), azs=[inj.select.az], until_t=round(ctx.clock.now() + inj.duration, 3)))
        records = ctx.injected(inj, index, wave, on_demand, reclaim_in=0.0, fis_experiment=eid, warned=False, stopped_for=inj.duration)
        if inj.spot_notice:
            return records + ctx.injected(inj, index, wave, spot, reclaim_in=inj.notice, fis_experiment=eid)
        return records + ctx.injected(inj, index, wave, spot, reclaim_in=0.0, fis_experiment=eid, warned=False)


class AzPowerInterruption(Fault):
    """Every instance in select.az stops, or is lost if Spot, and the cluster's groups cannot launch there for `duration` (FIS's AZ
    power interruption, EC2 part; no notice unless `spot_notice`)."""

    kind: Literal["az-power-interruption"]
    duration: Duration = Field(300.0, gt=0, le=43200, description="How long launches fail and the AZ's instances stay stopped.")
    notice: Duration = Field(120.0, ge=120, le=900, description="With spot_notice: time from the notice to the reclaim (at least 2 minutes).")
    spot_notice: bool = Field(False, description="Send the AZ's Spot instances FIS's Spot interruption (`notice` before the reclaim) "
                                                 "instead of terminating them without one (EC2 cannot stop a one-time Spot instance).")

    injectors = {"fis": FisAzPowerInterruption()}
    counts_nodes = False

    @model_validator(mode="after")
    def _the_whole_az(self) -> AzPowerInterruption:
        if not self.select.az:
            raise ValueError("an az-power-interruption needs select.az: the availability zone that loses power")
        if self.select.percent is not None or self.select.instances or self.select.count is not None:
            raise ValueError("an az-power-interruption takes every node in select.az: drop select.count, percent and instances")
        if "capacity_type" not in self.select.model_fields_set:
            # the whole AZ loses power: on-demand and Spot nodes alike, unless the experiment narrows it
            self.select = self.select.model_copy(update={"capacity_type": None})
        if self.duration < 60:
            raise ValueError("duration: an az-power-interruption restarts its instances after at least 1m (FIS startInstancesAfterDuration PT1M-PT12H)")
        return self

    @property
    def warns(self) -> bool:
        return self.spot_notice
