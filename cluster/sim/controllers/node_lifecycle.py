"""What happens to a Node whose kubelet went silent: the node controller marks it Unknown and
taints it, the cloud node lifecycle controller deletes it once its instance is gone, and PodGC
force-deletes the pods left bound to it."""

from __future__ import annotations

from typing import Any

import structlog

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.kubelet import Kubelets

log = structlog.get_logger("sim.node_lifecycle")

UNREACHABLE = "node.kubernetes.io/unreachable"


class NodeLifecycle(Controller):
    name = "node-lifecycle-controller"
    kinds = ()
    resync = 1.0

    def __init__(self, ctx: SimContext, kubelets: Kubelets) -> None:
        super().__init__(ctx)
        self.kubelets = kubelets
        self.node_rt = ctx.api.rt("Node")
        self.pod_rt = ctx.api.rt("Pod")
        self.gone_instances: set[str] = set()  # terminated in EC2 (vs stopped)
        self._unknown: set[str] = set()
        self._deleted_at: dict[str, float] = {}
        ctx.api.store.add_listener(self._node_deleted)

    def _node_deleted(self, ev: Any) -> None:
        if ev.resource.key == "nodes" and ev.type == "DELETED":
            self._deleted_at.setdefault(ev.obj["metadata"]["name"], self.clock.timestamp())

    def tick(self) -> None:
        t = self.ctx.config.timings
        now = self.clock.timestamp()
        for agent in list(self.kubelets.agents.values()):
            if agent.alive or agent.dead_at is None:
                continue
            if not agent.registered:
                self.kubelets.forget(agent.name)
                continue
            if agent.name not in self._unknown and now >= agent.dead_at + t.node_monitor_grace:
                self._mark_unknown(agent.name)
            if agent.name in self._unknown and agent.instance.instance_id in self.gone_instances and now >= agent.dead_at + t.node_monitor_grace + t.node_deletion:
                self._delete_node(agent.name)
        for node_name, at in list(self._deleted_at.items()):
            if now >= at + t.pod_gc:
                self._gc_pods(node_name)
                del self._deleted_at[node_name]

    def _mark_unknown(self, name: str) -> None:
        self._unknown.add(name)
        now = self.clock.isoformat()

        def change(n: dict[str, Any]) -> None:
            for c in n["status"].get("conditions") or []:
                c.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.", lastTransitionTime=now)
            taints = [t for t in n["spec"].get("taints") or [] if t.get("key") != UNREACHABLE]
            taints.append({"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": now})
            taints.append({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now})
            n["spec"]["taints"] = taints

        node = self.api.mutate(self.node_rt, "", name, change)
        if node is None:
            return
        self.ctx.recorder("node-controller").record(node, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        for pod in self.api.store.list(self.pod_rt, None, lambda p: p.get("spec", {}).get("nodeName") == name):
            self._mark_pod_not_ready(pod)
        log.info("node_not_ready", node=name)

    def _mark_pod_not_ready(self, pod: dict[str, Any]) -> None:
        now = self.clock.isoformat()

        def change(p: dict[str, Any]) -> bool | None:
            changed = False
            for c in p.get("status", {}).get("conditions") or []:
                if c["type"] == "Ready" and c["status"] != "False":
                    c.update(status="False", lastTransitionTime=now)
                    changed = True
            return None if changed else False

        self.api.mutate(self.pod_rt, pod["metadata"]["namespace"], pod["metadata"]["name"], change)

    def _delete_node(self, name: str) -> None:
        node = self.api.store.get(self.node_rt, "", name)
        self._unknown.discard(name)
        if node is not None:
            self.ctx.recorder("cloud-node-lifecycle-controller").record(node, "DeletingNode", f"Deleting node {name} because it does not exist in the cloud provider")
            self.api.delete(self.node_rt, "", name)
            log.info("node_deleted", node=name)
        self._deleted_at[name] = self.clock.timestamp()
        agent = self.kubelets.agents.get(name)
        if agent is not None:
            self.gone_instances.discard(agent.instance.instance_id)
        self.kubelets.forget(name)

    def _gc_pods(self, node_name: str) -> None:
        if self.api.store.get(self.node_rt, "", node_name) is not None:
            return
        for pod in self.api.store.list(self.pod_rt, None, lambda p: p.get("spec", {}).get("nodeName") == node_name):
            self.api.delete(self.pod_rt, pod["metadata"]["namespace"], pod["metadata"]["name"], {"gracePeriodSeconds": 0})
            log.info("pod_garbage_collected", pod=pod["metadata"]["name"], node=node_name)
