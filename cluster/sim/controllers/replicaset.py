"""ReplicaSet controller: keeps `spec.replicas` active pods, creating and deleting as needed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

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

PodFacts = tuple[bool, bool, frozenset[tuple[str, str]]]  # (active, ready, labels) of one owned pod


@dataclass
class _Owned:
    """One ReplicaSet's pods as the store's events left them, with the counts its status is made
    of kept as they change: a pass costs the same with 10 pods or 50,000 (the status was a walk
    over every pod, on every pass, while a big rollout made a pass every 100 ms)."""

    pods: dict[str, PodFacts] = field(default_factory=dict)
    active: int = 0
    ready: int = 0
    label_sets: Counter[frozenset[tuple[str, str]]] = field(default_factory=Counter)  # of the active pods

    def put(self, name: str, facts: PodFacts | None) -> None:
        old = self.pods.pop(name, None)
        if old is not None and old[0]:
            self.active -= 1
            self.ready -= old[1]
            self.label_sets[old[2]] -= 1
            if not self.label_sets[old[2]]:
                del self.label_sets[old[2]]
        if facts is not None:
            self.pods[name] = facts
            if facts[0]:
                self.active += 1
                self.ready += facts[1]
                self.label_sets[facts[2]] += 1

    def labelled(self, wanted: Iterable[tuple[str, str]]) -> int:
        want = frozenset(wanted)
        return sum(n for labels, n in self.label_sets.items() if want <= labels)


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
        self._owned: dict[str, _Owned] = {}  # rs uid -> its pods
        ctx.api.store.add_listener(self._index)

    def _index(self, ev: StoredEvent) -> None:
        if ev.resource.key != "pods":
            return
        ref = controller_ref(ev.obj)
        if not ref or ref.get("kind") != "ReplicaSet":
            return
        owned = self._owned.setdefault(ref["uid"], _Owned())
        pod = ev.obj
        if ev.type == "DELETED":
            owned.put(pod["metadata"]["name"], None)
            if not owned.pods:
                del self._owned[ref["uid"]]
        else:
            owned.put(pod["metadata"]["name"], (is_active(pod), pod_is_ready(pod), frozenset((pod["metadata"].get("labels") or {}).items())))

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key == "pods":
            ref = controller_ref(ev.obj)
            if ref and ref.get("kind") == "ReplicaSet":
                return [(ev.obj["metadata"]["namespace"], ref["name"])]
            return []
        return [(ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])]

    def all_keys(self) -> Iterable[Hashable]:
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.api.store.iter(self.rs_rt)]

    def _active_pods(self, rs: dict) -> list[dict]:
        ns = rs["metadata"]["namespace"]
        out = []
        for name, facts in list(self._owned.get(rs["metadata"]["uid"], _Owned()).pods.items()):
            pod = self.api.store.get(self.pod_rt, ns, name) if facts[0] else None
            if pod is not None:
                out.append(pod)
        return out

    def reconcile(self, key: Hashable) -> None:
        ns, name = key  # type: ignore[misc]
        rs = self.api.store.get(self.rs_rt, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        owned = self._owned.get(rs["metadata"]["uid"], _Owned())
        want = int(rs["spec"].get("replicas", 1))
        diff = want - owned.active
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
            newest_first = sorted(self._active_pods(rs), key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
            ranked = sorted(newest_first, key=lambda p: (bool(p["spec"].get("nodeName")), pod_is_ready(p)))
            doomed = ranked[:-diff]
            for pod in doomed:
                try:
                    self.api.delete(self.pod_rt, ns, pod["metadata"]["name"])
                except ApiError:
                    continue
                self.events.record(rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        self._write_status(rs)

    def _write_status(self, rs: dict) -> None:
        owned = self._owned.get(rs["metadata"]["uid"], _Owned())
        labels = (rs["spec"]["template"].get("metadata", {}).get("labels") or {}).items()
        status = {
            "replicas": owned.active,
            "fullyLabeledReplicas": owned.labelled(labels),
            "readyReplicas": owned.ready,
            "availableReplicas": owned.ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if rs.get("status") == status:
            return

        def change(o: dict) -> None:
            o["status"] = status

        self.api.mutate(self.rs_rt, rs["metadata"]["namespace"], rs["metadata"]["name"], change)
