"""What the StatefulSet controller does next (pure): kube-controller-manager's
pkg/controller/statefulset/stateful_set_control.go (updateStatefulSet) for one pass.

- Pods are `<set>-<ordinal>`, ordinals 0..replicas-1; a pod beyond them is condemned.
- A failed pod is deleted, and recreated under the same name once it is gone; so is one that was
  deleted (an eviction, a lost node).
- `OrderedReady` (the default): pods are created in ordinal order, each only once every pod
  before it is Running and Ready, and nothing else happens while a pod is being created or is
  terminating; condemned pods go one at a time from the highest ordinal, and only while every
  pod kept is Running and Ready.
- `Parallel`: every missing pod is created and every condemned one deleted at once.
- RollingUpdate: once every pod is Running and Ready, the highest ordinal at or above
  `partition` whose revision is not the set's current one is deleted (and comes back with the
  new template); `OnDelete` leaves pods until someone deletes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class PodState:
    ordinal: int
    revision: str
    running_ready: bool
    terminating: bool
    failed: bool


@dataclass
class Plan:
    create: list[int] = field(default_factory=list)  # ordinals to create now
    delete: list[int] = field(default_factory=list)  # ordinals whose pod to delete now


def ordinal_of(set_name: str, pod_name: str) -> int | None:
    prefix = set_name + "-"
    if not pod_name.startswith(prefix) or not pod_name[len(prefix):].isdigit():
        return None
    return int(pod_name[len(prefix):])


def plan(spec: Mapping[str, Any], pods: Mapping[int, PodState], revision: str) -> Plan:
    replicas = int(spec.get("replicas", 1))
    parallel = spec.get("podManagementPolicy") == "Parallel"
    out = Plan(delete=[o for o, p in sorted(pods.items()) if o < replicas and p.failed and not p.terminating])  # recreated once gone
    if out.delete and not parallel:
        return out
    if not _create_missing(out, pods, replicas, parallel):
        return out
    condemned = sorted((o for o in pods if o >= replicas), reverse=True)
    if condemned:
        _delete_condemned(out, pods, condemned, parallel)
        return out
    _roll(out, spec, pods, replicas, revision)
    return out


def _create_missing(out: Plan, pods: Mapping[int, PodState], replicas: int, parallel: bool) -> bool:
    """The missing ordinals to create; False when OrderedReady must wait before going further."""
    healthy_so_far = True
    for ordinal in range(replicas):
        pod = pods.get(ordinal)
        if pod is None:
            if parallel or healthy_so_far:
                out.create.append(ordinal)
            if not parallel:
                return False  # OrderedReady: one pod being created at a time
            continue
        if not parallel and (pod.terminating or not pod.running_ready):
            return False  # wait for this one before touching any later ordinal or any condemned pod
        healthy_so_far = healthy_so_far and pod.running_ready
    return True


def _delete_condemned(out: Plan, pods: Mapping[int, PodState], condemned: list[int], parallel: bool) -> None:
    for ordinal in condemned:
        if pods[ordinal].terminating:
            if not parallel:
                return
            continue
        out.delete.append(ordinal)
        if not parallel:
            return


def _roll(out: Plan, spec: Mapping[str, Any], pods: Mapping[int, PodState], replicas: int, revision: str) -> None:
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or len(pods) < replicas:
        return
    if not all(p.running_ready and not p.terminating for o, p in pods.items() if o < replicas):
        return
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    for ordinal in range(replicas - 1, partition - 1, -1):
        if pods[ordinal].revision != revision:
            out.delete.append(ordinal)
            return  # one at a time; its successor waits for it to be back and Ready
