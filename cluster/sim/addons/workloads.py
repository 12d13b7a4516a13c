"""Finding an add-on's workloads and running pods in the simulated cluster by container image,
the way the simulator recognises NTH and Cluster Autoscaler manifests (pure over objects)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog

from cluster.sim.kube.disruption import pod_ready

log = structlog.get_logger("sim.addons")
C = TypeVar("C")


def containers_with_image(workload: dict[str, Any], mark: str) -> list[dict[str, Any]]:
    spec = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [c for c in spec.get("containers") or [] if mark in str(c.get("image", ""))]


def selects(workload: dict[str, Any], pod: dict[str, Any]) -> bool:
    wanted = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = pod["metadata"].get("labels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def running_pods(workload: dict[str, Any], pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workload's pods that are running, ready and not being deleted."""
    ns = workload["metadata"]["namespace"]
    return [
        p for p in pods
        if p["metadata"].get("namespace") == ns and selects(workload, p) and not p["metadata"].get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") == "Running" and pod_ready(p)
    ]


def log_target(pod: dict[str, Any], image_mark: str) -> tuple[str, str, str]:
    """(namespace, pod, container) of the add-on's container in a pod: where its log lines go."""
    containers = (pod.get("spec") or {}).get("containers") or []
    name = next((c["name"] for c in containers if image_mark in str(c.get("image", ""))), containers[0]["name"] if containers else "")
    return pod["metadata"]["namespace"], pod["metadata"]["name"], name


@dataclass
class Found(Generic[C]):
    workload: dict[str, Any]
    config: C
    running: list[dict[str, Any]]  # its pods that run and are ready


class AddonWorkloads(Generic[C]):
    """An add-on's workloads in the cluster, found by container image, each with the config its
    container carries (env vars, flags) and its running pods.  A config the real binary would
    refuse (`parse` raises ValueError) is logged once and the workload skipped: it would exit."""

    def __init__(self, api: Any, kinds: tuple[str, ...], image_mark: str, parse: Callable[[dict[str, Any]], C], invalid_event: str, effect: str) -> None:
        self.api = api
        self.rts = [api.rt(k) for k in kinds]
        self.pod_rt = api.rt("Pod")
        self.image_mark = image_mark
        self.parse = parse
        self.invalid_event = invalid_event
        self.effect = effect
        self.deployed = False  # any workload with the image, running or not: its pods' events then matter
        self._reported: dict[str, str] = {}

    def scan(self) -> list[Found[C]]:
        workloads = [(w, c[0]) for rt in self.rts for w in self.api.store.iter(rt) if (c := containers_with_image(w, self.image_mark))]
        self.deployed = bool(workloads)
        if not workloads:
            return []
        pods = list(self.api.store.iter(self.pod_rt))
        out: list[Found[C]] = []
        for workload, container in workloads:
            wid = f"{workload['metadata']['namespace']}/{workload['metadata']['name']}"
            try:
                config = self.parse(container)
            except ValueError as exc:
                if self._reported.get(wid) != str(exc):
                    log.warning(self.invalid_event, workload=wid, error=str(exc), effect=self.effect)
                    self._reported[wid] = str(exc)
                continue
            self._reported.pop(wid, None)
            running = running_pods(workload, pods)
            if not running:
                out.append(Found(workload, config, []))
                continue
            # each pod runs with the settings it was started with: until a rollout replaces it, a
            # pod keeps its old env, whatever the workload's template says now
            by_config: dict[str, tuple[C, list[dict[str, Any]]]] = {}
            for pod in running:
                own = [c for c in (pod.get("spec") or {}).get("containers") or [] if self.image_mark in str(c.get("image", ""))]
                try:
                    pod_config = self.parse(own[0]) if own else config
                except ValueError:
                    continue  # that pod's binary would have exited
                by_config.setdefault(repr(pod_config), (pod_config, []))[1].append(pod)
            out += [Found(workload, c, ps) for c, ps in by_config.values()]
        return out
