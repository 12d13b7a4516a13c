"""Job controller: a Job's pods, one per index for `completionMode: Indexed` (the load shards
of `traffic.placement: cluster` run this way), counted as they succeed or fail, and the Job's
status and conditions.  The decisions are job_indexes.py's; this module keeps the pods and
writes the status.  Pods get the labels, annotation, hostname and JOB_COMPLETION_INDEX env var
the real controller gives them (pkg/controller/job/indexed_job_utils.go)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.job_indexes import JobSpec, Outcomes, decide, format_ranges
from cluster.sim.controllers.ownership import controller_ref, pod_from_template
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.store import StoredEvent

log = structlog.get_logger("sim.job")

INDEX_KEY = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"


@dataclass
class _Tracked:
    """The controller's memory of one Job's pods (the real one keeps it with tracking finalizers)."""

    pods: dict[str, int] = field(default_factory=dict)  # pod name -> index (-1: NonIndexed)
    counted: set[str] = field(default_factory=set)  # pods whose outcome is counted
    outcomes: Outcomes = field(default_factory=Outcomes)
    started: str | None = None


def _spec(job: dict[str, Any]) -> JobSpec:
    spec = job.get("spec") or {}
    completions = int(spec.get("completions") or 1)
    return JobSpec(
        indexed=spec.get("completionMode") == "Indexed", completions=completions,
        parallelism=int(spec["parallelism"]) if spec.get("parallelism") is not None else 1,
        backoff_limit=int(spec["backoffLimit"]) if spec.get("backoffLimit") is not None else 6,
        backoff_limit_per_index=spec.get("backoffLimitPerIndex"), max_failed_indexes=spec.get("maxFailedIndexes"),
    )


def _index_of(pod: dict[str, Any]) -> int:
    value = (pod["metadata"].get("annotations") or {}).get(INDEX_KEY)
    return int(value) if value is not None and str(value).isdigit() else -1


class JobController(Controller):
    name = "job-controller"
    kinds = ("Job", "Pod")
    resync = 30.0
    coalesce = 0.05

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.job_rt = ctx.api.rt("Job")
        self.pod_rt = ctx.api.rt("Pod")
        self.events = ctx.recorder(self.name)
        self.jobs: dict[str, _Tracked] = {}  # job uid -> what its pods did
        ctx.api.store.add_listener(self._count)

    def _count(self, ev: StoredEvent) -> None:
        """Each pod's outcome, counted once: succeeded, failed, or gone before it succeeded."""
        if ev.resource.key != "pods":
            return
        ref = controller_ref(ev.obj)
        if not ref or ref.get("kind") != "Job":
            return
        tracked = self.jobs.setdefault(ref["uid"], _Tracked())
        name = ev.obj["metadata"]["name"]
        index = _index_of(ev.obj)
        tracked.pods.setdefault(name, index)
        phase = (ev.obj.get("status") or {}).get("phase")
        if name in tracked.counted:
            if ev.type == "DELETED":
                tracked.pods.pop(name, None)
            return
        seen = tracked.outcomes
        if phase == "Succeeded":
            seen.succeeded.add(index if index >= 0 else len(seen.succeeded))
        elif phase == "Failed" or ev.type == "DELETED":
            seen.failures[index] = seen.failures.get(index, 0) + 1
        else:
            return
        tracked.counted.add(name)
        if ev.type == "DELETED":
            tracked.pods.pop(name, None)

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key == "pods":
            ref = controller_ref(ev.obj)
            return [(ev.obj["metadata"]["namespace"], ref["name"])] if ref and ref.get("kind") == "Job" else []
        if ev.type == "DELETED":
            self.jobs.pop(ev.obj["metadata"].get("uid", ""), None)
            return []
        return [(ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])]

    def all_keys(self) -> Iterable[Hashable]:
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.api.store.iter(self.job_rt)]

    def reconcile(self, key: Hashable) -> None:
        ns, name = key  # type: ignore[misc]
        job = self.api.store.get(self.job_rt, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in (job.get("status") or {}).get("conditions") or []):
            return  # finished: nothing more to do
        tracked = self.jobs.setdefault(job["metadata"]["uid"], _Tracked())
        tracked.started = tracked.started or self.ctx.clock.isoformat()
        active = [p for p in self._pods(ns, tracked) if p["metadata"]["name"] not in tracked.counted and not p["metadata"].get("deletionTimestamp")]
        tracked.outcomes.active = {}
        for p in active:
            i = _index_of(p)
            tracked.outcomes.active[i] = tracked.outcomes.active.get(i, 0) + 1
        spec = _spec(job)
        decision = decide(spec, tracked.outcomes)
        suspended = bool((job.get("spec") or {}).get("suspend"))
        if decision.delete_active or suspended:  # failed, or suspended: the active pods go (SIGTERM, then their grace)
            for p in active:
                if suspended and not decision.delete_active:
                    tracked.counted.add(p["metadata"]["name"])  # a pod a suspension ends is neither a success nor a failure
                try:
                    self.api.delete(self.pod_rt, ns, p["metadata"]["name"])
                except ApiError:
                    continue
        else:
            for index in decision.create:
                self._create(job, index)
        self._write_status(job, spec, tracked, decision.failed_indexes, decision.finished, 0 if decision.delete_active or suspended else len(active))

    def _pods(self, ns: str, tracked: _Tracked) -> list[dict[str, Any]]:
        return [p for n in list(tracked.pods) if (p := self.api.store.get(self.pod_rt, ns, n)) is not None]

    def _create(self, job: dict[str, Any], index: int) -> None:
        meta, uid = job["metadata"], job["metadata"]["uid"]
        labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": meta["name"], "controller-uid": uid, "job-name": meta["name"]}
        if index >= 0:
            labels[INDEX_KEY] = str(index)
        pod = pod_from_template(job, job["spec"]["template"], labels)
        if index >= 0:
            pod["metadata"]["generateName"] = f"{meta['name']}-{index}-"
            pod["metadata"]["annotations"][INDEX_KEY] = str(index)
            pod["spec"].setdefault("hostname", f"{meta['name']}-{index}")
            for c in pod["spec"].get("containers") or []:
                env = c.setdefault("env", [])
                if not any(e.get("name") == INDEX_ENV for e in env):
                    env.append({"name": INDEX_ENV, "valueFrom": {"fieldRef": {"fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}})
        try:
            created = self.api.create(self.pod_rt, meta["namespace"], pod)
        except ApiError as exc:
            self.events.record(job, "FailedCreate", f"Error creating: {exc.message}", "Warning")
            return
        self.jobs[uid].pods[created["metadata"]["name"]] = index
        self.events.record(job, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    def _write_status(self, job: dict[str, Any], spec: JobSpec, tracked: _Tracked, failed_indexes: frozenset[int], finished: str | None,
                      active: int) -> None:
        seen = tracked.outcomes
        status: dict[str, Any] = {"active": active, "succeeded": len(seen.succeeded), "failed": seen.failed_total(),
                                  "ready": 0, "startTime": tracked.started}
        if spec.indexed:
            status["completedIndexes"] = format_ranges(seen.succeeded)
            if spec.backoff_limit_per_index is not None:
                status["failedIndexes"] = format_ranges(set(failed_indexes))
        now = self.ctx.clock.isoformat()
        if finished == "Complete":
            status["completionTime"] = now
            status["conditions"] = [{"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "lastTransitionTime": now},
                                    {"type": "Complete", "status": "True", "reason": "CompletionsReached", "lastTransitionTime": now}]
        elif finished is not None:
            status["conditions"] = [{"type": "FailureTarget", "status": "True", "reason": finished, "lastTransitionTime": now},
                                    {"type": "Failed", "status": "True", "reason": finished, "lastTransitionTime": now}]
        old = job.get("status") or {}
        if all(old.get(k) == v for k, v in status.items()) and finished is None:
            return
        if finished is not None:
            self.events.record(job, "Completed" if finished == "Complete" else "BackoffLimitExceeded" if finished == "BackoffLimitExceeded" else "FailedIndexes",
                               "Job completed" if finished == "Complete" else f"Job has failed: {finished}", "Normal" if finished == "Complete" else "Warning")
            log.info("job_finished", job=f"{job['metadata']['namespace']}/{job['metadata']['name']}", result=finished)

        def change(o: dict[str, Any]) -> None:
            o["status"] = {**(o.get("status") or {}), **status}

        self.api.mutate(self.job_rt, job["metadata"]["namespace"], job["metadata"]["name"], change)
