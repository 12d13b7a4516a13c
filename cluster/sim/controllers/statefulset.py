"""StatefulSet controller: pods `<set>-<ordinal>` with stable names, created, replaced and
deleted in the order the set's podManagementPolicy and updateStrategy say (statefulset_plan),
each with its hostname and subdomain and the labels kube-controller-manager gives them, and the
set's status as `kubectl rollout status` reads it.  Volume claim templates are kept on the set,
not provisioned: a pod waits for no volume."""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterable
from typing import Any

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.ownership import (
    controller_ref,
    is_terminating,
    pod_from_template,
    pod_is_ready,
    template_hash,
)
from cluster.sim.controllers.statefulset_plan import PodState, ordinal_of, plan
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.store import StoredEvent

Obj = dict[str, Any]

REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


class StatefulSetController(Controller):
    name = "statefulset-controller"
    kinds = ("StatefulSet", "Pod")
    resync = 30.0
    coalesce = 0.05

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.sts_rt = ctx.api.rt("StatefulSet")
        self.pod_rt = ctx.api.rt("Pod")
        self.events = ctx.recorder(self.name)

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key == "pods":
            ref = controller_ref(ev.obj)
            if ref and ref.get("kind") == "StatefulSet":
                return [(ev.obj["metadata"]["namespace"], ref["name"])]
            return []
        return [(ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])]

    def all_keys(self) -> Iterable[Hashable]:
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.api.store.iter(self.sts_rt)]

    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        ns, name = str(key[0]), str(key[1])
        sts = self.api.store.get(self.sts_rt, ns, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        uid = sts["metadata"]["uid"]
        revision = f"{name}-{template_hash(sts['spec']['template'])}"
        pods: dict[int, Obj] = {}
        for p in self.api.store.list(self.pod_rt, ns):
            ref = controller_ref(p)
            ordinal = ordinal_of(name, p["metadata"]["name"])
            if ref is not None and ref.get("uid") == uid and ordinal is not None:
                pods[ordinal] = p
        states = {o: PodState(o, (p["metadata"].get("labels") or {}).get(REVISION_LABEL, ""),
                              (p.get("status") or {}).get("phase") == "Running" and pod_is_ready(p), is_terminating(p),
                              (p.get("status") or {}).get("phase") in ("Failed", "Succeeded"))
                  for o, p in pods.items()}
        todo = plan(sts["spec"], states, revision)
        for ordinal in todo.delete:
            pod_name = pods[ordinal]["metadata"]["name"]
            with contextlib.suppress(ApiError):
                self.api.delete(self.pod_rt, ns, pod_name)
                self.events.record(sts, "SuccessfulDelete", f"delete Pod {pod_name} in StatefulSet {name} successful")
        for ordinal in todo.create:
            self._create(sts, ordinal, revision)
        self._write_status(sts, self._owned(sts), revision)

    def _owned(self, sts: Obj) -> list[Obj]:
        uid, name = sts["metadata"]["uid"], sts["metadata"]["name"]
        return [p for p in self.api.store.list(self.pod_rt, sts["metadata"]["namespace"])
                if (controller_ref(p) or {}).get("uid") == uid and ordinal_of(name, p["metadata"]["name"]) is not None]

    def _create(self, sts: Obj, ordinal: int, revision: str) -> None:
        name = f"{sts['metadata']['name']}-{ordinal}"
        pod = pod_from_template(sts, sts["spec"]["template"], {REVISION_LABEL: revision, POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal)})
        del pod["metadata"]["generateName"]
        pod["metadata"]["name"] = name
        pod["spec"].setdefault("hostname", name)
        if sts["spec"].get("serviceName"):
            pod["spec"].setdefault("subdomain", sts["spec"]["serviceName"])
        try:
            self.api.create(self.pod_rt, sts["metadata"]["namespace"], pod)
        except ApiError as exc:
            if exc.code != 409:  # the previous pod of that name is still there: the next pass creates it
                self.events.record(sts, "FailedCreate", f"create Pod {name} in StatefulSet {sts['metadata']['name']} failed error: {exc.message}", "Warning")
            return
        self.events.record(sts, "SuccessfulCreate", f"create Pod {name} in StatefulSet {sts['metadata']['name']} successful")

    def _write_status(self, sts: Obj, pods: list[Obj], revision: str) -> None:
        live = [p for p in pods if not is_terminating(p)]
        ready = sum(1 for p in live if pod_is_ready(p))
        updated = sum(1 for p in live if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision)
        replicas = int(sts["spec"].get("replicas", 1))
        old = sts.get("status") or {}
        current_revision = revision if updated == replicas == len(live) else old.get("currentRevision", revision)
        status = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(live),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": sum(1 for p in live if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) == current_revision),
            "updatedReplicas": updated,
            "currentRevision": current_revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        if old == status:
            return

        def change(o: Obj) -> None:
            o["status"] = status

        self.api.mutate(self.sts_rt, sts["metadata"]["namespace"], sts["metadata"]["name"], change)
