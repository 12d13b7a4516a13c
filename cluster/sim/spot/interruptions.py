"""The Spot interruption engine: what EC2 does to an instance it takes back, step by step, on
the cluster clock.  A rebalance recommendation (metadata + EventBridge), the two-minute notice
(metadata `spot/instance-action` + "EC2 Spot Instance Interruption Warning"), then the reclaim
(the instance terminates with Server.SpotInstanceTermination, state-change events, capacity
not given back).  FIS, the metadata-mock path and the control API all drive this one engine."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import structlog

from cluster.sim.aws.autoscaling import AutoScalingSim
from cluster.sim.aws.moto_server import backend, instance_by_id
from cluster.sim.aws.spot_requests import close_request
from cluster.sim.clock import ClockTimer, SimClock
from cluster.sim.spot import eventbridge
from cluster.sim.spot.metadata_service import MetadataService

log = structlog.get_logger("sim.interruptions")

NOTICE_SECONDS = 120.0  # EC2's two-minute warning
SPOT_TERMINATION = ("Server.SpotInstanceTermination: Spot instance termination", "Server.SpotInstanceTermination")
ACTIONS = ("terminate", "stop", "hibernate")


class InterruptionError(ValueError):
    """An interruption that EC2 would not deliver (unknown, dead or on-demand instance)."""


@dataclass
class Plan:
    """The scheduled steps of one instance's interruption (cancel() drops the steps not yet run)."""

    instance_id: str
    deadline: float  # cluster time the instance is reclaimed (or would be)
    owner: str | None = None  # who asked for it through the control API (a harness run id)
    handles: list[ClockTimer] = field(default_factory=list)
    done: list[str] = field(default_factory=list)

    def cancel(self) -> None:
        for h in self.handles:
            h.cancel()
        self.handles.clear()

    def settle(self) -> None:
        """The steps already due run now (the reclaim at the end of FIS's action), the rest are dropped."""
        for h in self.handles:
            h.fire_if_due()
        self.cancel()


class Interruptions:
    def __init__(self, clock: SimClock, region: str, moto_lock: threading.RLock, autoscaling: AutoScalingSim, metadata: MetadataService,
                 events: eventbridge.Ec2Events) -> None:
        self.clock = clock
        self.events = events
        self.region = region
        self.lock = moto_lock
        self.autoscaling = autoscaling
        self.metadata = metadata
        self.plans: dict[str, Plan] = {}

    def _instance(self, instance_id: str, *, spot_only: bool = True) -> Any:
        inst = instance_by_id(self.region, instance_id)
        if inst is None:
            raise InterruptionError(f"instance '{instance_id}' does not exist in {self.region}")
        if inst.state not in ("pending", "running"):
            raise InterruptionError(f"instance '{instance_id}' is {inst.state}: only a running instance gets interrupted")
        if spot_only and getattr(inst, "lifecycle", None) != "spot":
            raise InterruptionError(f"instance '{instance_id}' is on-demand: EC2 sends Spot notices only to Spot instances")
        return inst

    # ---- single steps ------------------------------------------------------------------
    def rebalance(self, instance_id: str) -> None:
        now = self.clock.timestamp()
        with self.lock:
            self._instance(instance_id)
            meta = self.metadata.get(instance_id)
            if meta is not None and meta.rebalance is None:
                meta.rebalance = {"noticeTime": self.clock.isoformat(now)}
            self.events.deliver(self.region, eventbridge.rebalance_recommendation(self.region, instance_id, now))
        log.info("rebalance_recommendation", instance=instance_id)

    def notice(self, instance_id: str, *, deadline: float | None = None, action: str = "terminate") -> float:
        """The two-minute warning: from now on the metadata shows the action and its (fixed) time."""
        if action not in ACTIONS:
            raise InterruptionError(f"action '{action}' is not one of {', '.join(ACTIONS)}")
        now = self.clock.timestamp()
        when = deadline if deadline is not None else now + NOTICE_SECONDS
        with self.lock:
            inst = self._instance(instance_id)
            meta = self.metadata.get(instance_id)
            if meta is not None and meta.instance_action is None:
                meta.instance_action = {"action": action, "time": self.clock.isoformat(when)}
            self.events.deliver(self.region, eventbridge.spot_warning(self.region, inst.placement.zone, instance_id, action, now))
        log.info("spot_interruption_notice", instance=instance_id, action=action, at=self.clock.isoformat(when))
        return when

    def reclaim(self, instance_id: str, action: str = "terminate") -> bool:
        """EC2 takes the instance: it leaves `running`; the pool's capacity stays taken."""
        from moto.ec2.models.instances import StateReason

        now = self.clock.timestamp()
        with self.lock:
            try:
                inst = self._instance(instance_id, spot_only=False)
            except InterruptionError as exc:
                log.info("spot_reclaim_skipped", instance=instance_id, reason=str(exc))
                return False
            self.autoscaling.reclaimed.add(instance_id)
            ec2 = backend("ec2", self.region)
            if action == "terminate":
                self.events.deliver(self.region, eventbridge.state_change(self.region, instance_id, "shutting-down", now))
                ec2.terminate_instances([instance_id])
                final = "terminated"
            else:
                self.events.deliver(self.region, eventbridge.state_change(self.region, instance_id, "stopping", now))
                ec2.stop_instances([instance_id])
                final = "stopped"
            inst.state_reason = StateReason(*SPOT_TERMINATION)  # type: ignore[attr-defined]
            close_request(ec2, inst, "interrupted")
            self.events.deliver(self.region, eventbridge.state_change(self.region, instance_id, final, now))
        log.info("spot_instance_reclaimed", instance=instance_id, action=action)
        return True

    def withdraw(self, instance_id: str) -> bool:
        """Clear a notice the metadata still shows and drop the steps not yet run (the mock's
        reset; EC2 itself never takes a notice back).  False when there was nothing to clear."""
        plan = self.plans.pop(instance_id, None)
        if plan is not None:
            plan.cancel()
        meta = self.metadata.get(instance_id)
        shown = meta is not None and (meta.instance_action is not None or meta.rebalance is not None)
        if meta is not None:
            meta.instance_action = None
            meta.rebalance = None
        log.info("interruption_withdrawn", instance=instance_id, pending_steps=plan is not None)
        return plan is not None or shown

    # ---- a whole interruption ------------------------------------------------------------
    def shows_notice(self, instance_id: str) -> bool:
        meta = self.metadata.get(instance_id)
        return instance_id in self.plans or (meta is not None and (meta.instance_action is not None or meta.rebalance is not None))

    def interruption_time(self, instance_id: str) -> str | None:
        """When the instance's interruption (planned or noticed) takes it; None without one."""
        plan = self.plans.get(instance_id)
        if plan is not None and "reclaim" not in plan.done:
            return self.clock.isoformat(plan.deadline)
        meta = self.metadata.get(instance_id)
        return meta.instance_action["time"] if meta is not None and meta.instance_action is not None else None

    def owner_of(self, instance_id: str) -> str | None:
        plan = self.plans.get(instance_id)
        return plan.owner if plan is not None else None

    def interrupt(self, instance_id: str, before: float = NOTICE_SECONDS, *, rebalance: bool = True, reclaim: bool = True, action: str = "terminate",
                  owner: str | None = None) -> Plan:
        """FIS's send-spot-instance-interruptions: rebalance now, the notice `before - 120 s` from
        now (at once when `before` <= 120 s), the reclaim `before` from now."""
        with self.lock:
            self._instance(instance_id)
        deadline = self.clock.after(before)
        plan = Plan(instance_id, deadline, owner=owner)
        self.plans[instance_id] = plan

        def step(name: str, fn: object, *args: object) -> None:
            try:
                fn(*args)  # type: ignore[operator]
                plan.done.append(name)
            except InterruptionError as exc:
                log.warning("interruption_step_skipped", instance=instance_id, step=name, reason=str(exc))

        if rebalance:
            step("rebalance", self.rebalance, instance_id)
        notice_in = max(0.0, before - NOTICE_SECONDS)
        if notice_in == 0:
            step("notice", lambda: self.notice(instance_id, deadline=deadline, action=action))
        else:
            plan.handles.append(self.clock.call_later(notice_in, step, "notice", lambda: self.notice(instance_id, deadline=deadline, action=action)))
        if reclaim:
            plan.handles.append(self.clock.call_later(before, step, "reclaim", lambda: self.reclaim(instance_id, action)))
        return plan
