"""DaemonSet controller: one pod on every node that matches the pod's selector and tolerates its taints;
a changed template rolls out pod by pod (cluster/sim/controllers/daemon_rollout.py), each revision kept as a
ControllerRevision and each pod labelled with its controller-revision-hash, as kube-controller-manager does."""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterable

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.daemon_rollout import GENERATION_LABEL, HASH_LABEL, pods_to_delete
from cluster.sim.controllers.ownership import (
    controller_ref,
    is_active,
    owner_reference,
    pod_from_template,
    pod_is_ready,
    template_hash,
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
        self.cr_rt = ctx.api.rt("ControllerRevision")
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

    def _revision(self, ds: dict, thash: str) -> None:
        """The DaemonSet's ControllerRevision for its current template (made, or made the newest
        again on a rollback), and at most revisionHistoryLimit others."""
        ns, uid = ds["metadata"]["namespace"], ds["metadata"]["uid"]
        owned = [cr for cr in self.api.store.list(self.cr_rt, ns) if any(r.get("uid") == uid for r in cr["metadata"].get("ownerReferences") or [])]
        top = max((int(cr.get("revision", 0)) for cr in owned), default=0)
        mine = next((cr for cr in owned if (cr["metadata"].get("labels") or {}).get(HASH_LABEL) == thash), None)
        if mine is None:
            labels = {**(((ds["spec"].get("selector") or {}).get("matchLabels")) or {}), HASH_LABEL: thash}
            template = {**ds["spec"]["template"], "$patch": "replace"}
            self.api.create(self.cr_rt, ns, {"metadata": {"name": f"{ds['metadata']['name']}-{thash}", "labels": labels,
                                                          "ownerReferences": [owner_reference(ds)]},
                                             "data": {"spec": {"template": template}}, "revision": top + 1})
        elif int(mine.get("revision", 0)) < top:
            def newest(o: dict) -> None:
                o["revision"] = top + 1

            self.api.mutate(self.cr_rt, ns, mine["metadata"]["name"], newest)
        limit = int(ds["spec"].get("revisionHistoryLimit", 10))
        old = sorted((cr for cr in owned if (cr["metadata"].get("labels") or {}).get(HASH_LABEL) != thash), key=lambda cr: int(cr.get("revision", 0)))
        for cr in old[:max(0, len(old) - limit)]:
            with contextlib.suppress(ApiError):
                self.api.delete(self.cr_rt, ns, cr["metadata"]["name"])

    def reconcile(self, key: Hashable) -> None:
        """The DaemonSet controller's sync: a pod on every node the template fits, none on the
        others, the rolling update by its strategy (daemonset_policy), and the status."""
        ns, name = key  # type: ignore[misc]
        ds = self.api.store.get(self.ds_rt, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        uid = ds["metadata"]["uid"]
        thash = template_hash(ds["spec"]["template"])
        try:
            self._revision(ds, thash)
        except ApiError as exc:
            self.events.record(ds, "FailedCreate", f"error creating ControllerRevision: {exc.message}", "Warning")
        pods = [p for p in self.api.store.list(self.pod_rt, ns) if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]
        by_node: dict[str, list[dict]] = {}
        leaving: set[str] = set()  # nodes whose pod is terminating: with maxSurge 0 its successor waits
        for p in pods:
            if is_active(p):
                by_node.setdefault(p["spec"].get("nodeName", ""), []).append(p)
            elif p["metadata"].get("deletionTimestamp"):
                leaving.add(p["spec"].get("nodeName", ""))
        spec = self._daemon_spec(ds)
        wanted = {info.name for info in (NodeInfo.from_node(n) for n in self.api.store.iter(self.node_rt)) if static_reason(spec, info, daemon=True) is None}
        self._create_missing(ds, spec, thash, sorted(wanted - set(by_node) - leaving))
        self._delete_misscheduled(ds, by_node, wanted)
        on_wanted = {n: ps for n, ps in by_node.items() if n in wanted}
        readiness = {p["metadata"]["name"]: pod_is_ready(p) for ps in on_wanted.values() for p in ps}
        for p in pods_to_delete(ds["spec"].get("updateStrategy"), thash, on_wanted, readiness, len(wanted)):
            with contextlib.suppress(ApiError):
                self.api.delete(self.pod_rt, ns, p["metadata"]["name"])
                self.events.record(ds, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")
        self._write_status(ds, by_node, on_wanted, wanted, thash)

    def _create_missing(self, ds: dict, spec: dict, thash: str, nodes: list[str]) -> None:
        labels = {HASH_LABEL: thash, GENERATION_LABEL: str(ds["metadata"].get("generation", 1))}
        for node_name in nodes:
            pod = pod_from_template(ds, ds["spec"]["template"], labels)
            pod["spec"]["tolerations"] = spec["tolerations"]
            pod["spec"]["nodeName"] = node_name
            try:
                created = self.api.create(self.pod_rt, ds["metadata"]["namespace"], pod)
            except ApiError as exc:
                self.events.record(ds, "FailedCreate", f"Error creating: {exc.message}", "Warning")
                continue
            self.events.record(ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    def _delete_misscheduled(self, ds: dict, by_node: dict[str, list[dict]], wanted: set[str]) -> None:
        """Pods on nodes (still there) the template no longer fits."""
        for node_name, node_pods in by_node.items():
            if node_name not in wanted and self.api.store.get(self.node_rt, "", node_name) is not None:
                for p in node_pods:
                    self.api.delete(self.pod_rt, ds["metadata"]["namespace"], p["metadata"]["name"])
                    self.events.record(ds, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")

    def _write_status(self, ds: dict, by_node: dict[str, list[dict]], on_wanted: dict[str, list[dict]], wanted: set[str], thash: str) -> None:
        active_on_wanted = [p for ps in on_wanted.values() for p in ps]
        ready = sum(1 for p in active_on_wanted if pod_is_ready(p))
        status = {
            "currentNumberScheduled": len({p["spec"].get("nodeName") for p in active_on_wanted}),
            "desiredNumberScheduled": len(wanted),
            "numberMisscheduled": sum(1 for n in by_node if n not in wanted),
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": sum(1 for p in active_on_wanted if (p["metadata"].get("labels") or {}).get(HASH_LABEL) == thash),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if ready < len(wanted):
            status["numberUnavailable"] = len(wanted) - ready
        if ds.get("status") != status:
            def change(o: dict) -> None:
                o["status"] = status

            self.api.mutate(self.ds_rt, ds["metadata"]["namespace"], ds["metadata"]["name"], change)
