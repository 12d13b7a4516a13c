"""Deployment controller: one ReplicaSet per pod template, rolling updates within maxSurge/maxUnavailable."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.ownership import (
    controller_ref,
    owner_reference,
    scaled_value,
    template_hash,
)
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.store import StoredEvent, clone

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"  # what `kubectl rollout history/undo` read
CHANGE_CAUSE = "kubernetes.io/change-cause"


def _same_template(rs_template: dict, template: dict) -> bool:
    stripped = clone(rs_template)
    (stripped.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL, None)
    return bool(stripped == template)


def _revision(obj: dict) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, 0))
    except ValueError:
        return 0


class DeploymentController(Controller):
    name = "deployment-controller"
    kinds = ("Deployment", "ReplicaSet")
    resync = 30.0
    coalesce = 0.1  # status is recomputed over all owned pods: batch the events of 100 ms

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.dep_rt = ctx.api.rt("Deployment")
        self.rs_rt = ctx.api.rt("ReplicaSet")
        self.events = ctx.recorder(self.name)

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key == self.rs_rt.key:
            ref = controller_ref(ev.obj)
            if ref and ref.get("kind") == "Deployment":
                return [(ev.obj["metadata"]["namespace"], ref["name"])]
            return []
        return [(ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])]

    def all_keys(self) -> Iterable[Hashable]:
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.api.store.iter(self.dep_rt)]

    def _owned(self, dep: dict) -> list[dict]:
        uid = dep["metadata"]["uid"]
        return [
            rs for rs in self.api.store.list(self.rs_rt, dep["metadata"]["namespace"])
            if any(r.get("uid") == uid for r in rs["metadata"].get("ownerReferences") or [])
        ]

    def _scale(self, dep: dict, rs: dict, replicas: int) -> None:
        if rs["spec"].get("replicas") == replicas:
            return
        old = rs["spec"].get("replicas", 0)

        def change(o: dict) -> None:
            o["spec"]["replicas"] = replicas

        self.api.mutate(self.rs_rt, rs["metadata"]["namespace"], rs["metadata"]["name"], change)
        verb = "up" if replicas > old else "down"
        self.events.record(dep, "ScalingReplicaSet", f"Scaled {verb} replica set {rs['metadata']['name']} from {old} to {replicas}")

    def reconcile(self, key: Hashable) -> None:
        """The deployment controller's sync: find or make the ReplicaSet of the current template (a
        new revision, or an old one brought back by `rollout undo`), then scale by the strategy."""
        ns, name = key  # type: ignore[misc]
        dep = self.api.store.get(self.dep_rt, ns, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return
        spec = dep["spec"]
        want = int(spec.get("replicas", 1))
        owned = self._owned(dep)
        found = self._current_rs(dep, owned, want)
        if found is None:
            return
        dep, new_rs = found
        old_rss = [rs for rs in owned if rs["metadata"]["name"] != new_rs["metadata"]["name"]]
        strategy = spec.get("strategy") or {}
        if spec.get("paused"):
            pass
        elif strategy.get("type") == "Recreate":
            active_old = sum(int(r.get("status", {}).get("replicas", 0)) for r in old_rss)
            for rs in old_rss:
                self._scale(dep, rs, 0)
            if active_old == 0:
                self._scale(dep, new_rs, want)
        else:
            self._rolling_update(dep, new_rs, old_rss, owned, want, strategy.get("rollingUpdate") or {})
        self._write_status(dep, new_rs)

    def _current_rs(self, dep: dict, owned: list[dict], want: int) -> tuple[dict, dict] | None:
        """(the Deployment, the ReplicaSet of its template) with both marked as the newest revision;
        None when that ReplicaSet could not be created (an event says why)."""
        template = dep["spec"]["template"]
        thash = template_hash(template)
        # the ReplicaSet whose template is the Deployment's, the hash label aside (EqualIgnoreHash: a
        # `rollout undo` writes an old ReplicaSet's template back, which must find that ReplicaSet)
        new_rs = next((rs for rs in owned if _same_template(rs["spec"].get("template") or {}, template)), None)
        new_rs = new_rs or next((rs for rs in owned if rs["metadata"].get("labels", {}).get(HASH_LABEL) == thash), None)
        old_rss = [rs for rs in owned if rs is not new_rs]
        newest_old = max((_revision(rs) for rs in old_rss), default=0)
        if new_rs is None:
            new_rs = self._create_rs(dep, thash, 0 if old_rss and any(r["spec"].get("replicas") for r in old_rss) else want, newest_old + 1)
            if new_rs is None:
                return None
        elif _revision(new_rs) <= newest_old:  # a rollback to an older template: its ReplicaSet becomes the newest revision
            new_rs = self._set_revision(self.rs_rt, new_rs, newest_old + 1)
        if (dep["metadata"].get("annotations") or {}).get(REVISION) != str(_revision(new_rs)):
            dep = self._set_revision(self.dep_rt, dep, _revision(new_rs))
        return dep, new_rs

    def _rolling_update(self, dep: dict, new_rs: dict, old_rss: list[dict], owned: list[dict], want: int, ru: dict) -> None:
        """Within maxSurge and maxUnavailable: the new ReplicaSet up as far as surge allows, the old
        ones down (oldest first) as far as availability allows."""
        surge = scaled_value(ru.get("maxSurge", "25%"), want, round_up=True)
        unavailable = scaled_value(ru.get("maxUnavailable", "25%"), want, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        old_total = sum(int(r["spec"].get("replicas", 0)) for r in old_rss)
        if not old_rss or old_total == 0:
            self._scale(dep, new_rs, want)
            return
        new_target = min(want, max(int(new_rs["spec"].get("replicas", 0)), want + surge - old_total))
        self._scale(dep, new_rs, new_target)
        available = sum(int(r.get("status", {}).get("availableReplicas", 0)) for r in owned)
        can_remove = max(0, available - (want - unavailable))
        old_unavailable = sum(max(0, int(r["spec"].get("replicas", 0)) - int(r.get("status", {}).get("availableReplicas", 0))) for r in old_rss)
        budget = can_remove + old_unavailable
        for rs in sorted(old_rss, key=lambda r: r["metadata"]["creationTimestamp"]):
            cur = int(rs["spec"].get("replicas", 0))
            cut = min(cur, budget)
            if cut:
                self._scale(dep, rs, cur - cut)
                budget -= cut

    def _set_revision(self, rt: object, obj: dict, revision: int) -> dict:
        def change(o: dict) -> None:
            o["metadata"].setdefault("annotations", {})[REVISION] = str(revision)

        return self.api.mutate(rt, obj["metadata"]["namespace"], obj["metadata"]["name"], change) or obj  # type: ignore[arg-type]

    def _create_rs(self, dep: dict, thash: str, replicas: int, revision: int) -> dict | None:
        template = clone(dep["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = thash
        selector = clone(dep["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = thash
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{dep['metadata']['name']}-{thash}",
                "namespace": dep["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {"deployment.kubernetes.io/desired-replicas": str(dep["spec"].get("replicas", 1)), REVISION: str(revision),
                                **({CHANGE_CAUSE: dep["metadata"]["annotations"][CHANGE_CAUSE]} if CHANGE_CAUSE in (dep["metadata"].get("annotations") or {}) else {})},
                "ownerReferences": [owner_reference(dep)],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        }
        try:
            created = self.api.create(self.rs_rt, dep["metadata"]["namespace"], rs)
        except ApiError as exc:
            self.events.record(dep, "FailedCreate", f"Failed to create new replica set: {exc.message}", "Warning")
            return None
        self.events.record(dep, "ScalingReplicaSet", f"Scaled up replica set {created['metadata']['name']} from 0 to {replicas}")
        return created

    def _write_status(self, dep: dict, new_rs: dict) -> None:
        dep = self.api.store.get(self.dep_rt, dep["metadata"]["namespace"], dep["metadata"]["name"]) or dep
        owned = self._owned(dep)
        fresh_new = next((r for r in owned if r["metadata"]["name"] == new_rs["metadata"]["name"]), new_rs)
        replicas = sum(int(r.get("status", {}).get("replicas", 0)) for r in owned)
        ready = sum(int(r.get("status", {}).get("readyReplicas", 0)) for r in owned)
        available = sum(int(r.get("status", {}).get("availableReplicas", 0)) for r in owned)
        want = int(dep["spec"].get("replicas", 1))
        now = self.clock.isoformat()
        ru = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        min_available = want - scaled_value(ru.get("maxUnavailable", "25%"), want, round_up=False)
        is_available = available >= min_available
        old_conds = {c["type"]: c for c in (dep.get("status") or {}).get("conditions") or []}

        def cond(type_: str, status: str, reason: str, message: str) -> dict:
            prev = old_conds.get(type_)
            transition = prev["lastTransitionTime"] if prev and prev["status"] == status else now
            return {"type": type_, "status": status, "reason": reason, "message": message, "lastUpdateTime": prev["lastUpdateTime"] if prev and prev["status"] == status and prev["reason"] == reason else now, "lastTransitionTime": transition}

        status = {
            "observedGeneration": dep["metadata"].get("generation", 1),
            "replicas": replicas,
            "updatedReplicas": int(fresh_new.get("status", {}).get("replicas", 0)),
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(0, want - available),
            "conditions": [
                cond("Available", "True" if is_available else "False", "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
                     "Deployment has minimum availability." if is_available else "Deployment does not have minimum availability."),
                cond("Progressing", "True", "NewReplicaSetAvailable" if available >= want else "ReplicaSetUpdated",
                     f'ReplicaSet "{new_rs["metadata"]["name"]}" has successfully progressed.' if available >= want else f'ReplicaSet "{new_rs["metadata"]["name"]}" is progressing.'),
            ],
        }
        if status["unavailableReplicas"] == 0:
            del status["unavailableReplicas"]
        if dep.get("status") == status:
            return

        def change(o: dict) -> None:
            o["status"] = status

        self.api.mutate(self.dep_rt, dep["metadata"]["namespace"], dep["metadata"]["name"], change)
