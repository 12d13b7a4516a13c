"""DaemonSet controller: one pod on every node that matches the pod's selector and tolerates its taints."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.ownership import (
    controller_ref,
    is_active,
    pod_from_template,
    pod_is_ready,
)
from cluster.sim.controllers.scheduling import NodeInfo, static_reason
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.store import StoredEvent

# Tolerations the DaemonSet controller adds to every daemon pod (pkg/controller/daemon/util).
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


class DaemonSetController(Controller):
    name = "daemonset-controller"
    kinds = ("DaemonSet", "Node", "Pod")
    resync = 30.0

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.ds_rt = ctx.api.rt("DaemonSet")
        self.pod_rt = ctx.api.rt("Pod")
        self.node_rt = ctx.api.rt("Node")
        self.events = ctx.recorder(self.name)

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        key = ev.resource.key
        if key == self.ds_rt.key:
            return [(ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])]
        if key == "pods":
            ref = controller_ref(ev.obj)
            if ref and ref.get("kind") == "DaemonSet":
                return [(ev.obj["metadata"]["namespace"], ref["name"])]
            return []
        if ev.type == "MODIFIED" and ev.old is not None:
            same = ev.old["metadata"].get("labels") == ev.obj["metadata"].get("labels") and ev.old["spec"].get("taints") == ev.obj["spec"].get("taints")
            if same:
                return []
        return list(self.all_keys())

    def all_keys(self) -> Iterable[Hashable]:
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.api.store.iter(self.ds_rt)]

    def _daemon_spec(self, ds: dict) -> dict:
        spec = dict(ds["spec"]["template"].get("spec") or {})
        spec["tolerations"] = list(spec.get("tolerations") or []) + DAEMON_TOLERATIONS
        return spec

    def reconcile(self, key: Hashable) -> None:
        ns, name = key  # type: ignore[misc]
        ds = self.api.store.get(self.ds_rt, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        uid = ds["metadata"]["uid"]
        pods = [p for p in self.api.store.list(self.pod_rt, ns) if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]
        by_node: dict[str, list[dict]] = {}
        for p in pods:
            if is_active(p):
                by_node.setdefault(p["spec"].get("nodeName", ""), []).append(p)
        spec = self._daemon_spec(ds)
        wanted: set[str] = set()
        for node in self.api.store.iter(self.node_rt):
            info = NodeInfo.from_node(node)
            if static_reason(spec, info, daemon=True) is None:
                wanted.add(info.name)
        for node_name in sorted(wanted - set(by_node)):
            pod = pod_from_template(ds, ds["spec"]["template"])
            pod["spec"]["tolerations"] = spec["tolerations"]
            pod["spec"]["nodeName"] = node_name
            try:
                created = self.api.create(self.pod_rt, ns, pod)
            except ApiError as exc:
                self.events.record(ds, "FailedCreate", f"Error creating: {exc.message}", "Warning")
                continue
            self.events.record(ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        for node_name, node_pods in by_node.items():
            if node_name not in wanted and self.api.store.get(self.node_rt, "", node_name) is not None:
                for p in node_pods:
                    self.api.delete(self.pod_rt, ns, p["metadata"]["name"])
                    self.events.record(ds, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")
        active_on_wanted = [p for n, ps in by_node.items() if n in wanted for p in ps]
        ready = sum(1 for p in active_on_wanted if pod_is_ready(p))
        status = {
            "currentNumberScheduled": len({p["spec"].get("nodeName") for p in active_on_wanted}),
            "desiredNumberScheduled": len(wanted),
            "numberMisscheduled": sum(1 for n in by_node if n not in wanted),
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": len(active_on_wanted),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if ready < len(wanted):
            status["numberUnavailable"] = len(wanted) - ready
        if ds.get("status") != status:
            def change(o: dict) -> None:
                o["status"] = status

            self.api.mutate(self.ds_rt, ns, name, change)
