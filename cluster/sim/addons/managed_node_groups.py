"""EKS managed node groups on Spot, as the EKS service runs them (it is not in the cluster, so it
needs no manifest): for the Spot instances of Auto Scaling groups EKS manages (tagged
`eks:nodegroup-name`), it reads EC2's rebalance recommendations and interruption warnings and
launches a replacement, cordons and drains through the Kubernetes API, and ends the old instance
after a replacement took over.  The decisions are mng_spot.py's; this module carries them out."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from cluster.components.lbc import instance_id
from cluster.kube_views import is_ready
from cluster.sim.addons import mng_spot
from cluster.sim.addons.drain import evict_pods
from cluster.sim.aws.moto_server import backend
from cluster.sim.controllers.base import SimContext
from cluster.sim.spot import eventbridge
from cluster.sim.tasks import ShortTasks

log = structlog.get_logger("sim.managed_node_groups")

MANAGED_TAG = "eks:nodegroup-name"
DRAIN_SECONDS = 15 * 60.0  # how long EKS keeps evicting before it gives up (its documented 15-minute drain)
MIN_REAL_PERIOD = 0.05


class ManagedNodeGroups:
    def __init__(self, ctx: SimContext, events: eventbridge.Ec2Events) -> None:
        self.ctx = ctx
        self.events = events
        self.clock = ctx.clock
        self.api = ctx.api
        self.region = ctx.config.region
        self.nodes: dict[str, mng_spot.NodeState] = {}  # instance id -> its state
        self.nodegroups: dict[str, str] = {}  # Auto Scaling group -> the node group's name (its nodes' eks.amazonaws.com/nodegroup)
        self.tasks = ShortTasks()
        self.loop = asyncio.get_running_loop()
        events.subscribe(self._consume)

    def _consume(self, event: dict[str, Any]) -> None:
        """Called by EventBridge's delivery, under the moto lock, maybe from another thread."""
        kind, instance = event.get("detail-type"), (event.get("detail") or {}).get("instance-id")
        if kind in (eventbridge.REBALANCE, eventbridge.SPOT_WARNING) and instance:
            group = self._managed_group(instance)
            if group is not None:
                self.loop.call_soon_threadsafe(self._on_event, kind, instance, group)

    def _managed_group(self, instance: str) -> str | None:
        for group in backend("autoscaling", self.region).autoscaling_groups.values():
            tags = {t["Key"]: t.get("Value", "") for t in group.tags or []}
            if MANAGED_TAG in tags and any(st.instance.id == instance for st in group.instance_states):
                self.nodegroups[str(group.name)] = tags[MANAGED_TAG]
                return str(group.name)
        return None

    def _on_event(self, kind: str, instance: str, group: str) -> None:
        state = self.nodes.setdefault(instance, mng_spot.NodeState())
        steps = mng_spot.on_rebalance(state) if kind == eventbridge.REBALANCE else mng_spot.on_notice(state)
        log.info("mng_spot_event", group=group, instance=instance, ec2_event=kind, steps=[str(s) for s in steps])
        self._carry_out(steps, instance, group)

    def _carry_out(self, steps: list[mng_spot.Step], instance: str, group: str) -> None:
        for step in steps:
            if step == mng_spot.Step.LAUNCH_REPLACEMENT:
                self.tasks.spawn(self._replace(instance, group))
            elif step == mng_spot.Step.DRAIN:
                self.tasks.spawn(self._drain(instance, group))
            elif step == mng_spot.Step.TERMINATE:
                self._terminate(instance, group)

    async def _replace(self, instance: str, group: str) -> None:
        """One more instance in the group; once its node is Ready, the old node goes."""
        assert self.ctx.moto is not None
        with self.ctx.moto.lock:
            asb = backend("autoscaling", self.region)
            g = asb.autoscaling_groups.get(group)
            if g is None:
                return
            before = {st.instance.id for st in g.instance_states}
            if g.desired_capacity < g.max_size:
                asb.set_desired_capacity(group, g.desired_capacity + 1)
        log.info("mng_replacement_launched", group=group, instance=instance)
        state = self.nodes[instance]
        while not state.draining and not state.drained:
            if self._replacement_ready(group, before):
                self._carry_out(mng_spot.on_replacement_ready(state), instance, group)
                return
            await self.clock.sleep_real(max(MIN_REAL_PERIOD, self.clock.real_seconds(1.0)))

    def _replacement_ready(self, group: str, before: set[str]) -> bool:
        for node in self.api.store.iter(self.api.rt("Node")):
            if (node["metadata"].get("labels") or {}).get("eks.amazonaws.com/nodegroup") != self.nodegroups.get(group) or instance_id(node) in before:
                continue
            if is_ready(node):
                return True
        return False

    def _node_of(self, instance: str) -> str | None:
        return next((n["metadata"]["name"] for n in self.api.store.iter(self.api.rt("Node")) if instance_id(n) == instance), None)

    async def _drain(self, instance: str, group: str) -> None:
        node = self._node_of(instance)
        state = self.nodes[instance]
        if node is None:
            self._carry_out(mng_spot.on_drained(state), instance, group)
            return

        def cordon(n: dict[str, Any]) -> None:
            n["spec"]["unschedulable"] = True

        self.api.mutate(self.api.rt("Node"), "", node, cordon, manager="eks-nodegroup")
        log.info("mng_draining", group=group, node=node, instance=instance)
        ok, problem = await evict_pods(self.api, self.clock, node, deadline=self.clock.after(DRAIN_SECONDS),
                                       real_period=lambda s: max(MIN_REAL_PERIOD, self.clock.real_seconds(s)))
        log.info("mng_drained" if ok else "mng_drain_failed", group=group, node=node, problem=problem)
        self._carry_out(mng_spot.on_drained(state), instance, group)

    def _terminate(self, instance: str, group: str) -> None:
        """Capacity Rebalancing ends the old instance, the group one smaller again."""
        assert self.ctx.moto is not None
        with self.ctx.moto.lock:
            asb = backend("autoscaling", self.region)
            try:
                asb.terminate_instance(instance, should_decrement=True)
            except Exception as exc:  # noqa: BLE001 - gone already (reclaimed first): nothing to end
                log.info("mng_terminate_skipped", instance=instance, reason=str(exc))
                return
        log.info("mng_old_instance_terminated", group=group, instance=instance)

    async def stop(self) -> None:
        self.events.unsubscribe(self._consume)
        self.tasks.cancel()
