"""Cluster Autoscaler as the simulator runs it: found by image in a Deployment, configured only
by its flags, active while its pod runs.  Every --scan-interval: discover node groups by ASG
tags, notice failed launches (back the group off, shrink its target back), scale up the group
the expander picks for unschedulable pods, and scale down unneeded nodes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime
from typing import Any

import structlog

from cluster.components.cluster_autoscaler import IMAGE_MARK, CaConfig, container_argv, parse_flags
from cluster.instance_types import allocatable, lookup
from cluster.kube_views import is_ready
from cluster.sim.addons import ca_planning as plan
from cluster.sim.addons.workloads import AddonWorkloads, log_target
from cluster.sim.aws.moto_server import backend
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.ec2_nodes import NODEGROUP_TAGS, node_template
from cluster.sim.controllers.scheduling import NodeInfo, pod_requests
from cluster.sim.kube.errors import ApiError

log = structlog.get_logger("sim.cluster_autoscaler")

COMPONENT = "cluster-autoscaler"
TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler"
PRIORITY_CONFIGMAP = "cluster-autoscaler-priority-expander"
MAX_GRACEFUL_TERMINATION = 600.0
MIN_REAL_PERIOD = 0.05


def _is_pending_unschedulable(pod: dict[str, Any]) -> bool:
    if pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
        return False
    return any(c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _is_daemon(pod: dict[str, Any]) -> bool:
    return any(o.get("kind") == "DaemonSet" for o in pod["metadata"].get("ownerReferences") or [])


class ClusterAutoscaler(Controller):
    name = "cluster-autoscaler"
    kinds = ("Deployment", "Pod")
    resync = 5.0

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.pod_rt, self.node_rt = ctx.api.rt("Pod"), ctx.api.rt("Node")
        self.region = ctx.config.region
        self._loop_task: asyncio.Task[None] | None = None
        self.pod: tuple[str, str, str] | None = None  # the running Cluster Autoscaler container, whose log it writes
        self.workloads = AddonWorkloads(ctx.api, ("Deployment",), IMAGE_MARK, lambda c: parse_flags(container_argv(c)),
                                        "cluster_autoscaler_flags_invalid", "Cluster Autoscaler exits at start; nothing scales")
        self._config: CaConfig | None = None
        self._rng = random.Random()
        self.failures: dict[str, tuple[int, float]] = {}  # group -> (failure count, last failure time)
        self.backoff_until: dict[str, float] = {}
        self._scaled_up: dict[str, float] = {}  # group -> cluster time of the last scale-up
        self._activities_seen: dict[str, int] = {}
        self._last_scale_up = float("-inf")
        self._last_scale_down_failure = float("-inf")
        self._unneeded_since: dict[str, float] = {}
        self._deleting: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- is Cluster Autoscaler deployed and running? ---------------------------------------
    def keys_for(self, ev: Any) -> Iterable[Hashable]:
        # pod events matter only once a Cluster Autoscaler Deployment exists (its pod starting or stopping)
        return ["scan"] if ev.resource.key != "pods" or self.workloads.deployed else []

    def all_keys(self) -> Iterable[Hashable]:
        return ["scan"]

    def reconcile(self, key: Hashable) -> None:
        running = next((f for f in self.workloads.scan() if f.running), None)
        found = running.config if running is not None else None
        self.pod = log_target(running.running[0], IMAGE_MARK) if running is not None else None
        if found != self._config:
            if self._loop_task is not None:
                self._loop_task.cancel()
                self._loop_task = None
            self._config = found
            self._forget()  # a Cluster Autoscaler that (re)starts remembers nothing of the one before
            if found is not None:
                self._loop_task = asyncio.get_running_loop().create_task(self._loop(found))
                log.info("cluster_autoscaler_running", scan_interval=found.scan_interval, expander=",".join(found.expander),
                         balance=found.balance_similar_node_groups, ignored_flags=list(found.ignored))

    def _say(self, source: str, message: str) -> None:
        """A line in the Cluster Autoscaler pod's log, in klog's format (the source line numbers left out)."""
        if self.pod is None:
            return
        ts = self.clock.timestamp()
        self.api.logs.write(*self.pod, f"I{datetime.fromtimestamp(ts, UTC).strftime('%m%d %H:%M:%S.%f')}       1 {source}] {message}", ts)

    def _forget(self) -> None:
        self.failures.clear()
        self.backoff_until.clear()
        self._scaled_up.clear()
        self._last_scale_up = float("-inf")
        self._last_scale_down_failure = float("-inf")
        self._unneeded_since.clear()

    async def stop(self) -> None:
        for t in [self._loop_task, *self._tasks]:
            if t is not None:
                t.cancel()

    async def _loop(self, cfg: CaConfig) -> None:
        while True:
            await self.clock.sleep_real(max(MIN_REAL_PERIOD, self.clock.real_seconds(cfg.scan_interval)))
            try:
                self._scan(cfg)
            except Exception:
                log.exception("cluster_autoscaler_scan_failed")

    # ---- one loop ---------------------------------------------------------------------------
    def _scan(self, cfg: CaConfig) -> None:
        assert self.ctx.moto is not None
        now = self.clock.timestamp()
        nodes = {n["metadata"]["name"]: n for n in self.api.store.iter(self.node_rt)}
        # each loop recomputes the unneeded nodes from the nodes there are (ScaleDown.UpdateUnneededNodes):
        # a node that went away forgets its time, so a later node given the same name starts afresh
        for gone in [n for n in self._unneeded_since if n not in nodes]:
            del self._unneeded_since[gone]
        ready_instances = {
            str(n["spec"].get("providerID", "")).rsplit("/", 1)[-1]
            for n in nodes.values()
            if is_ready(n)
        }
        with self.ctx.moto.lock:
            groups, members = self._groups(cfg)
            self._notice_failures(cfg, groups, members, ready_instances, now)
        pods = list(self.api.store.iter(self.pod_rt))
        pending = [p for p in pods if _is_pending_unschedulable(p) and self._age(p, now) >= cfg.new_pod_scale_up_delay]
        # pods no group can help do not hold scale-down back; a scale-up (or nodes on their way) does
        busy = bool(pending) and self._scale_up(cfg, groups, members, ready_instances, pending, now)
        if not busy and cfg.scale_down_enabled:
            self._scale_down(cfg, groups, members, nodes, pods, now)

    def _age(self, pod: dict[str, Any], now: float) -> float:
        from cluster.sim.clock import parse_time

        return now - parse_time(pod["metadata"].get("creationTimestamp") or self.clock.isoformat(now))

    def _groups(self, cfg: CaConfig) -> tuple[list[plan.NodeGroup], dict[str, list[Any]]]:
        asb = backend("autoscaling", self.region)
        static = {g.name: g for g in cfg.static_groups}
        out: list[plan.NodeGroup] = []
        members: dict[str, list[Any]] = {}
        for group in asb.autoscaling_groups.values():
            tags = {t["Key"]: t.get("Value", "") for t in group.tags or []}
            if group.name in static:
                lo, hi = static[group.name].min_size, static[group.name].max_size
            elif any(d.matches(tags) for d in cfg.auto_discovery):
                lo, hi = group.min_size, group.max_size
            else:
                continue
            out.append(plan.NodeGroup(group.name, lo, hi, group.desired_capacity or 0, self._template(group, tags),
                                      self.backoff_until.get(group.name, 0.0)))
            members[group.name] = [s.instance for s in group.instance_states if s.instance.state in ("pending", "running")]
        return out, members

    def _template(self, group: Any, tags: dict[str, str]) -> NodeInfo:
        """The node a new instance of the group would register as (CA builds it from the launch
        template's first instance type and the node-template tags)."""
        assert self.ctx.autoscaling is not None
        types, _, _, pct = self.ctx.autoscaling.policy(group)
        itype = lookup(types[0])
        cpu, mem = allocatable(itype)
        labels, taints = node_template(tags)
        az = sorted(group.availability_zones)[0] if group.availability_zones else ""
        base = {
            "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": types[0],
            "topology.kubernetes.io/region": self.region, "topology.kubernetes.io/zone": az,
            "eks.amazonaws.com/capacityType": "SPOT" if pct == 0 else "ON_DEMAND",
            "eks.amazonaws.com/nodegroup": next((tags[t] for t in NODEGROUP_TAGS if t in tags), group.name),
        }
        return NodeInfo(f"template-node-for-{group.name}", {**base, **labels}, list(taints), False, cpu, mem, itype.max_pods)

    # ---- failed launches: backoff --------------------------------------------------------------
    def _notice_failures(self, cfg: CaConfig, groups: list[plan.NodeGroup], members: dict[str, list[Any]], ready: set[str], now: float) -> None:
        assert self.ctx.autoscaling is not None
        asb = backend("autoscaling", self.region)
        for g in groups:
            acts = self.ctx.autoscaling.activities.get(g.name, [])
            seen = self._activities_seen.get(g.name, 0)
            fresh = acts[seen:]
            self._activities_seen[g.name] = len(acts)
            live = len(members[g.name])
            failed = [a for a in fresh if a["StatusCode"] == "Failed"]
            scaled_at = self._scaled_up.get(g.name)
            timed_out = scaled_at is not None and now - scaled_at > cfg.max_node_provision_time and g.target > len(ready & {i.id for i in members[g.name]})
            if not (failed and g.target > live) and not timed_out:
                continue
            count, last = self.failures.get(g.name, (0, 0.0))
            if now - last > cfg.node_group_backoff_reset_timeout:
                count = 0
            count += 1
            self.failures[g.name] = (count, now)
            until = now + plan.backoff_duration(count, cfg.initial_node_group_backoff_duration, cfg.max_node_group_backoff_duration)
            self.backoff_until[g.name] = g.backoff_until = until
            reason = failed[-1].get("StatusMessage", "launch failed") if failed else f"nodes not ready after --max-node-provision-time={cfg.max_node_provision_time:g}s"
            new_target = live if failed else len(ready & {i.id for i in members[g.name]})
            log.warning("cluster_autoscaler_scale_up_failed", group=g.name, reason=reason, backoff_seconds=until - now, target=f"{g.target}->{new_target}")
            asb.set_desired_capacity(g.name, new_target)
            g.target = new_target
            self._scaled_up.pop(g.name, None)

    # ---- scale-up ---------------------------------------------------------------------------------
    def _scale_up(self, cfg: CaConfig, groups: list[plan.NodeGroup], members: dict[str, list[Any]], ready: set[str], pending: list[dict[str, Any]], now: float) -> bool:
        """Scale up for the pending pods; True when pods wait for new or upcoming nodes."""
        remaining, waiting = plan.not_on_upcoming(groups, {g.name: g.target - len(ready & {i.id for i in members[g.name]}) for g in groups}, pending)
        if not remaining:
            return waiting
        options = plan.options(groups, remaining, cfg.max_nodes_total, now)
        rec = self.ctx.recorder(COMPONENT)
        if not options:
            backed = [g.name for g in groups if g.backoff_until > now]
            why = f"{len(backed)} in backoff after failed scale-up" if backed else "no node group can host it"
            for p in remaining:
                rec.record(p, "NotTriggerScaleUp", f"pod didn't trigger scale-up: {why}")
            return waiting
        chosen = plan.expand(options, cfg.expander, self._priorities(cfg), self._rng)
        assert chosen is not None
        increases = {chosen.group.name: chosen.nodes}
        if cfg.balance_similar_node_groups:
            peers = [g for g in groups if g.backoff_until <= now and (g is chosen.group or plan.similar(g, chosen.group))
                     and any(plan.fits_template(p, g.template) for p in chosen.pods)]
            increases = plan.balance(peers, chosen.nodes)
        summary = self._set_sizes(cfg, {g.name: g for g in groups}, increases, len(chosen.pods), now)
        for p in chosen.pods:
            rec.record(p, "TriggeredScaleUp", f"pod triggered scale-up: [{summary}]")
        return True

    def _set_sizes(self, cfg: CaConfig, by_name: dict[str, plan.NodeGroup], increases: dict[str, int], pods: int, now: float) -> str:
        """The scale-up plan carried out (each group's desired capacity raised), as CA logs it; its summary."""
        assert self.ctx.moto is not None
        asb = backend("autoscaling", self.region)
        summary = " ".join(f"{{{name} {by_name[name].target}->{by_name[name].target + n} (max: {by_name[name].max_size})}}" for name, n in increases.items())
        self._say("orchestrator.go", f"Final scale-up plan: [{summary}]")
        with self.ctx.moto.lock:
            for name, n in increases.items():
                g = by_name[name]
                self._say("executor.go", f"Scale-up: setting group {name} size to {g.target + n}")
                log.info("cluster_autoscaler_scale_up", group=name, target=f"{g.target}->{g.target + n}", pods=pods, expander=",".join(cfg.expander))
                asb.set_desired_capacity(name, g.target + n)
                g.target += n
                self._scaled_up[name] = now
        self._last_scale_up = now
        return summary

    def _priorities(self, cfg: CaConfig) -> dict[int, list[str]]:
        cm = self.api.store.get(self.api.rt("ConfigMap"), cfg.namespace, PRIORITY_CONFIGMAP)
        try:
            return plan.parse_priorities((cm or {}).get("data", {}).get("priorities", ""))
        except Exception:
            log.warning("cluster_autoscaler_priorities_invalid", configmap=f"{cfg.namespace}/{PRIORITY_CONFIGMAP}")
            return {}

    # ---- scale-down ----------------------------------------------------------------------------------
    def _scale_down(self, cfg: CaConfig, groups: list[plan.NodeGroup], members: dict[str, list[Any]], nodes: dict[str, Any], pods: list[dict[str, Any]], now: float) -> None:
        if now < self._last_scale_up + cfg.scale_down_delay_after_add or now < self._last_scale_down_failure + cfg.scale_down_delay_after_failure or self._deleting:
            self._unneeded_since.clear() if now < self._last_scale_up + cfg.scale_down_delay_after_add else None
            return
        group_of = {i.id: g for g in groups for i in members[g.name]}
        on_node: dict[str, list[dict[str, Any]]] = {}
        for p in pods:
            if p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp"):
                on_node.setdefault(p["spec"]["nodeName"], []).append(p)
        candidates = [c for name, node in nodes.items() if (c := self._unneeded(cfg, name, node, group_of, on_node.get(name, []), now)) is not None]
        if not candidates:
            return
        _, name, iid, g = min(candidates)
        self._deleting.add(name)
        task = asyncio.get_running_loop().create_task(self._delete_node(cfg, name, iid, g))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _unneeded(self, cfg: CaConfig, name: str, node: dict[str, Any], group_of: dict[str, plan.NodeGroup], pods: list[dict[str, Any]],
                  now: float) -> tuple[float, str, str, plan.NodeGroup] | None:
        """(utilization, node, instance, group) of a node unneeded for long enough to remove; None
        for one that is needed (or not removable), which also resets how long it has been unneeded."""
        iid = str(node["spec"].get("providerID", "")).rsplit("/", 1)[-1]
        g = group_of.get(iid)
        if g is None or node["spec"].get("unschedulable") or g.target <= g.min_size:
            self._unneeded_since.pop(name, None)
            return None
        info = NodeInfo.from_node(node)
        movable = [p for p in pods if not _is_daemon(p)]
        cpu = sum(pod_requests(p)[0] for p in movable)
        mem = sum(pod_requests(p)[1] for p in movable)
        util = max(cpu / (info.alloc_cpu or 1), mem / (info.alloc_mem or 1))
        blocked = any(not p["metadata"].get("ownerReferences") or (cfg.skip_nodes_with_system_pods and p["metadata"]["namespace"] == "kube-system")
                      for p in movable)
        if util >= cfg.scale_down_utilization_threshold or blocked:
            self._unneeded_since.pop(name, None)
            return None
        since = self._unneeded_since.setdefault(name, now)
        return (util, name, iid, g) if now - since >= cfg.scale_down_unneeded_time else None

    async def _delete_node(self, cfg: CaConfig, name: str, iid: str, g: plan.NodeGroup) -> None:
        assert self.ctx.moto is not None
        rec = self.ctx.recorder(COMPONENT)
        try:
            def taint(n: dict[str, Any]) -> None:
                taints = [t for t in n["spec"].get("taints") or [] if t.get("key") != TO_BE_DELETED_TAINT]
                taints.append({"key": TO_BE_DELETED_TAINT, "value": str(int(self.clock.timestamp())), "effect": "NoSchedule"})
                n["spec"]["taints"] = taints

            node = self.api.mutate(self.node_rt, "", name, taint, manager="cluster-autoscaler")
            if node is not None:
                rec.record(node, "ScaleDown", "marked the node as toBeDeleted/unschedulable")
            log.info("cluster_autoscaler_scale_down", node=name, group=g.name)
            self._say("scale_down.go", f"Scale-down: removing node {name}, group {g.name}")
            deadline = self.clock.after(MAX_GRACEFUL_TERMINATION)
            while True:
                left = [p for p in self.api.store.list(self.pod_rt, None, lambda p: p.get("spec", {}).get("nodeName") == name) if not _is_daemon(p)]
                if not left:
                    break
                for p in left:
                    if p["metadata"].get("deletionTimestamp"):
                        continue
                    try:
                        self.api.evict(p["metadata"]["namespace"], p["metadata"]["name"], {"apiVersion": "policy/v1", "kind": "Eviction"})
                        rec.record(p, "ScaleDown", "deleting pod for node scale down")
                    except ApiError as exc:
                        if exc.code == 404:
                            continue
                        if exc.code == 429:
                            raise RuntimeError(f"pod {p['metadata']['name']} blocked by its PodDisruptionBudget") from None
                        raise
                if self.clock.timestamp() > deadline:
                    raise RuntimeError("pods did not finish terminating within max-graceful-termination-sec")
                await self.clock.sleep_real(max(MIN_REAL_PERIOD, self.clock.real_seconds(1.0)))
            with self.ctx.moto.lock:
                backend("autoscaling", self.region).terminate_instance(iid, should_decrement=True)
            node = self.api.store.get(self.node_rt, "", name)
            if node is not None:
                rec.record(node, "ScaleDown", "node removed by cluster autoscaler")
        except Exception as exc:
            log.warning("cluster_autoscaler_scale_down_failed", node=name, error=str(exc))
            self._last_scale_down_failure = self.clock.timestamp()

            def untaint(n: dict[str, Any]) -> None:
                n["spec"]["taints"] = [t for t in n["spec"].get("taints") or [] if t.get("key") != TO_BE_DELETED_TAINT]

            self.api.mutate(self.node_rt, "", name, untaint, manager="cluster-autoscaler")
        finally:
            self._deleting.discard(name)
            self._unneeded_since.pop(name, None)



