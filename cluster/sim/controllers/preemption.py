"""kube-scheduler's DefaultPreemption, pure: for a pod no node can take, the node where evicting
pods of lower priority makes room, and the fewest of them.  On each node that failed only for
room (pods, cpu, memory), every lower-priority pod is taken off; those that can come back while
the pod still fits are reprieved, the most important first; what is left are the victims.  Of the
nodes that work, the one whose most important victim has the lowest priority wins, then the
lowest sum of victims' priorities, then the fewest victims (PodDisruptionBudgets are not weighed).
A pod with preemptionPolicy Never preempts nothing; a pod already nominated to a node where lower
priority pods are still terminating waits for them instead of preempting again.
Source: kubernetes pkg/scheduler/framework/plugins/defaultpreemption (SelectVictimsOnNode,
PodEligibleToPreemptOthers) and pkg/scheduler/framework/preemption (pickOneNodeForPreemption)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Running:
    """A pod bound to a node, as preemption weighs it."""

    namespace: str
    name: str
    priority: int
    cpu: int
    mem: int
    terminating: bool = False


@dataclass(frozen=True)
class Room:
    """A node's allocatable and what its pods use now."""

    alloc_cpu: int
    alloc_mem: int
    alloc_pods: int
    used_cpu: int
    used_mem: int
    used_pods: int


def _fits(room: Room, cpu: int, mem: int, freed: Sequence[Running]) -> bool:
    return (room.used_pods - len(freed) + 1 <= room.alloc_pods
            and room.used_cpu - sum(v.cpu for v in freed) + cpu <= room.alloc_cpu
            and room.used_mem - sum(v.mem for v in freed) + mem <= room.alloc_mem)


def victims_on(room: Room, pods: Sequence[Running], priority: int, cpu: int, mem: int) -> list[Running] | None:
    """The pods to evict from one node so the pod fits, or None when even all lower-priority ones would not do."""
    lower = [p for p in pods if p.priority < priority and not p.terminating]
    if not _fits(room, cpu, mem, lower):
        return None
    victims = list(lower)
    for p in sorted(lower, key=lambda p: -p.priority):  # reprieve the most important first
        rest = [v for v in victims if v is not p]
        if _fits(room, cpu, mem, rest):
            victims = rest
    return victims


def choose(rooms: Mapping[str, Room], pods_by_node: Mapping[str, Sequence[Running]], priority: int, cpu: int, mem: int) -> tuple[str, list[Running]] | None:
    """The node to preempt on and its victims, or None."""
    options = []
    for node, room in rooms.items():
        victims = victims_on(room, pods_by_node.get(node, ()), priority, cpu, mem)
        if victims:
            options.append(((max(v.priority for v in victims), sum(v.priority for v in victims), len(victims), node), node, victims))
    if not options:
        return None
    _, node, victims = min(options, key=lambda o: o[0])
    return node, victims


def may_preempt(policy: str | None, nominated: str | None, pods_by_node: Mapping[str, Sequence[Running]], priority: int) -> bool:
    """PodEligibleToPreemptOthers: not with preemptionPolicy Never, and not while lower-priority pods
    still terminate on the node it was nominated to (they are making its room)."""
    if policy == "Never":
        return False
    if nominated and any(p.terminating and p.priority < priority for p in pods_by_node.get(nominated, ())):
        return False
    return True
