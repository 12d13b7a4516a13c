"""kind: instance-stop, on-demand instances stopped through AWS FIS (aws:ec2:stop-instances) and
started again after `duration` (startInstancesAfterDuration), as a host's maintenance or a
runaway automation stops them: the node goes NotReady with no notice, nothing drains it, and what
is measured is how long the load balancer and the cluster take to stop relying on it.  An Auto
Scaling group may replace the stopped instance before FIS starts it (its health check finds it
stopped); the action completes anyway (completeIfInstancesTerminated).  Stopping the experiment
starts the instances at once: FIS completes a stopped action's post actions (FIS user guide,
"Stop an experiment").  EC2 cannot stop a Spot instance of a one-time request, which is every Spot
instance a group or Karpenter launches (StopInstances: UnsupportedOperation), so the fault takes
on-demand nodes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from chaos.fields import Duration
from chaos.inject.base import FireContext, NodeInjector, select_text
from chaos.inject.fault import Fault
from chaos.inject.fis_documents import fis_template, instance_batches, iso_duration
from chaos.journal.records import InjectedRecord


def stop_template(instance_arns: list[str], duration: float, role_arn: str, alarms: list[str], tags: dict[str, str]) -> dict[str, Any]:
    """The experiment template (pure): stop the running instances, start them `duration` later."""
    targets, actions = {}, {}
    for target, arns in instance_batches(instance_arns, "Stopped-Instances"):
        targets[target] = {"resourceType": "aws:ec2:instance", "resourceArns": arns, "selectionMode": "ALL",
                           "filters": [{"path": "State.Name", "values": ["running"]}]}
        actions[f"Stop-{target}"] = {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": target},
                                     "parameters": {"startInstancesAfterDuration": iso_duration(duration), "completeIfInstancesTerminated": "true"}}
    return fis_template("spotchaos: instance stop", targets, actions, role_arn, alarms, tags)


class FisInstanceStop(NodeInjector):
    def describe(self, inj: InstanceStop) -> str:
        return f"instance-stop of {select_text(inj.select)}: stopped with no notice, started again after {inj.duration:g}s"

    async def fire(self, ctx: FireContext, inj: InstanceStop, index: int, wave: int) -> list[InjectedRecord]:
        chosen = ctx.choose(inj, index, wave, self)
        role = await ctx.fis_role()
        template = stop_template([ctx.faults.instance_arn(c.instance) for c in chosen], inj.duration, role, ctx.alarms, ctx.tags)
        eid = await ctx.start_fis(template, f"{inj.label(index)} wave {wave}")
        # the stop is its own notice: the node is gone at once, never warned, and may come back
        return ctx.injected(inj, index, wave, chosen, reclaim_in=0.0, fis_experiment=eid, warned=False, stopped_for=inj.duration)


class InstanceStop(Fault):
    """The chosen on-demand nodes' instances stopped with no notice and started again after `duration`."""

    kind: Literal["instance-stop"]
    duration: Duration = Field(300.0, ge=60, le=43200, description="How long the instances stay stopped (FIS startInstancesAfterDuration, 1m to 12h).")

    injectors = {"fis": FisInstanceStop()}

    @model_validator(mode="after")
    def _on_demand(self) -> InstanceStop:
        if "capacity_type" not in self.select.model_fields_set:
            self.select = self.select.model_copy(update={"capacity_type": "ON_DEMAND"})
        elif self.select.capacity_type != "ON_DEMAND":
            raise ValueError("select.capacity_type: EC2 cannot stop a Spot instance of a one-time request (UnsupportedOperation): use ON_DEMAND, "
                             "or kind instance-loss or spot-interruption for Spot nodes")
        return self
