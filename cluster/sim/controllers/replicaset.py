"""ReplicaSet controller: keeps `spec.replicas` active pods, creating and deleting as needed."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.ownership import (
    controller_ref,
    is_active,
    pod_from_template,
    pod_is_ready,
)
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.store import StoredEvent

BURST = 100  # pods created per pass, then the queue turns (the real controller uses slow-start batches)


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    kinds = ("ReplicaSet", "Pod")
    resync = 30.0
    coalesce = 0.1  # status is recomputed over all owned pods: batch the events of 100 ms

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.rs_rt = ctx.api.rt("ReplicaSet")
        self.pod_rt = ctx.api.rt("Pod")
        self.events = ctx.recorder(self.name)
        self._pods_by_owner: dict[str, dict[str, None]] = {}  # rs uid -> pod names
        ctx.api.store.add_listener(self._index)

    def _index(self, ev: StoredEvent) -> None:
        if ev.resource.key != "pods":
            return
        ref = controller_ref(ev.obj)
        if not ref or ref.get("kind") != "ReplicaSet":
            return
        names = self._pods_by_owner.setdefault(ref["uid"], {})
        if ev.type == "DELETED":
            names.pop(ev.obj["metadata"]["name"], None)
        else:
            names[ev.obj["metadata"]["name"]] = None

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key == "pods":
            ref = controller_ref(ev.obj)
            if ref and ref.get("kind") == "ReplicaSet":
                return [(ev.obj["metadata"]["namespace"], ref["name"])]
            return []
        return [(ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])]

    def all_keys(self) -> Iterable[Hashable]:
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.api.store.iter(self.rs_rt)]

    def _pods(self, rs: dict) -> list[dict]:
        ns = rs["metadata"]["namespace"]
        out = []
        for name in list(self._pods_by_owner.get(rs["metadata"]["uid"], {})):
            pod = self.api.store.get(self.pod_rt, ns, name)
            if pod is not None:
                out.append(pod)
        return out

    def reconcile(self, key: Hashable) -> None:
        ns, name = key  # type: ignore[misc]
        rs = self.api.store.get(self.rs_rt, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        pods = self._pods(rs)
        active = [p for p in pods if is_active(p)]
        want = int(rs["spec"].get("replicas", 1))
        diff = want - len(active)
        if diff > 0:
            for _ in range(min(diff, BURST)):
                pod = pod_from_template(rs, rs["spec"]["template"])
                try:
                    created = self.api.create(self.pod_rt, ns, pod)
                except ApiError as exc:
                    self.events.record(rs, "FailedCreate", f"Error creating: {exc.message}", "Warning")
                    break
                self.events.record(rs, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
            if diff > BURST:
                self.enqueue(key)
        elif diff < 0:
            # Prefer unscheduled, then not ready, then the newest (controller.ActivePods ordering).
            newest_first = sorted(active, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
            ranked = sorted(newest_first, key=lambda p: (bool(p["spec"].get("nodeName")), pod_is_ready(p)))
            doomed = ranked[:-diff]
            for pod in doomed:
                try:
                    self.api.delete(self.pod_rt, ns, pod["metadata"]["name"])
                except ApiError:
                    continue
                self.events.record(rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        self._write_status(rs, self._pods(rs))

    def _write_status(self, rs: dict, pods: list[dict]) -> None:
        labels = (rs["spec"]["template"].get("metadata", {}).get("labels") or {}).items()
        replicas = ready = labelled = 0
        for p in pods:
            if not is_active(p):
                continue
            replicas += 1
            ready += pod_is_ready(p)
            pod_labels = p["metadata"].get("labels") or {}
            labelled += all(pod_labels.get(k) == v for k, v in labels)
        status = {
            "replicas": replicas,
            "fullyLabeledReplicas": labelled,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if rs.get("status") == status:
            return

        def change(o: dict) -> None:
            o["status"] = status

        self.api.mutate(self.rs_rt, rs["metadata"]["namespace"], rs["metadata"]["name"], change)
