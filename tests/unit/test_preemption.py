"""Priority admission and DefaultPreemption, pure: a class name resolved (built-in, user's,
global default) or refused with the API server's message; victims are the fewest lower-priority
pods that make room, the most important reprieved; the node whose victims matter least wins;
policy Never and a nomination still being emptied preempt nothing."""

from __future__ import annotations

from cluster.sim.controllers.preemption import Room, Running, choose, may_preempt, victims_on
from cluster.sim.kube.priority import SYSTEM_CRITICAL, admit

CLASSES = [{"metadata": {"name": "high"}, "value": 1000}, {"metadata": {"name": "batch"}, "value": -10, "preemptionPolicy": "Never"},
           {"metadata": {"name": "normal"}, "value": 100, "globalDefault": True}]


def test_a_class_name_becomes_the_pods_priority_and_an_unknown_one_is_refused():
    spec = {"priorityClassName": "high"}
    assert admit("p", spec, CLASSES) is None and (spec["priority"], spec["preemptionPolicy"]) == (1000, "PreemptLowerPriority")
    spec = {"priorityClassName": "batch"}
    assert admit("p", spec, CLASSES) is None and (spec["priority"], spec["preemptionPolicy"]) == (-10, "Never")
    spec = {"priorityClassName": "system-node-critical"}
    assert admit("p", spec, []) is None and spec["priority"] == SYSTEM_CRITICAL + 1000
    spec = {}
    assert admit("p", spec, CLASSES) is None and (spec["priority"], spec["priorityClassName"]) == (100, "normal")  # the global default
    spec = {}
    assert admit("p", spec, []) is None and spec["priority"] == 0
    assert admit("web-1", {"priorityClassName": "hihg"}, CLASSES) == 'pods "web-1" is forbidden: no PriorityClass with name hihg was found'
    assert "must not be provided in pod spec" in (admit("p", {"priorityClassName": "high", "priority": 5}, CLASSES) or "")


def _room(cpu_used: int, pods: int = 3) -> Room:
    return Room(alloc_cpu=4000, alloc_mem=16 << 30, alloc_pods=110, used_cpu=cpu_used, used_mem=0, used_pods=pods)


def test_the_fewest_lower_priority_pods_make_room_and_the_most_important_is_reprieved():
    pods = [Running("a", "low", 0, 1000, 0), Running("a", "mid", 50, 1000, 0), Running("a", "peer", 1000, 1000, 0), Running("a", "gone", 0, 500, 0, True)]
    victims = victims_on(_room(3500, 4), pods, 1000, 1500, 0)  # 500 free: needs 1000 more
    assert [v.name for v in victims or []] == ["low"]  # mid reprieved (more important); peer has equal priority; gone already leaves
    assert victims_on(_room(3500, 4), pods, 1000, 3000, 0) is None  # even every lower pod would not make room


def test_the_node_whose_victims_matter_least_wins():
    rooms = {"n1": _room(4000, 2), "n2": _room(4000, 2)}
    by_node = {"n1": [Running("a", "n1-mid", 50, 2000, 0), Running("a", "n1-mid2", 50, 2000, 0)],
               "n2": [Running("a", "n2-low", 0, 2000, 0), Running("a", "n2-peer", 900, 2000, 0)]}
    node, victims = choose(rooms, by_node, 1000, 1000, 0) or ("", [])
    assert node == "n2" and [v.name for v in victims] == ["n2-low"]
    assert choose(rooms, {"n1": [Running("a", "x", 5000, 4000, 0)]}, 1000, 1000, 0) is None


def test_policy_never_and_a_nomination_being_emptied_preempt_nothing():
    by_node = {"n1": [Running("a", "leaving", 0, 1000, 0, terminating=True)]}
    assert not may_preempt("Never", None, {}, 1000)
    assert not may_preempt("PreemptLowerPriority", "n1", by_node, 1000)
    assert may_preempt("PreemptLowerPriority", "n2", by_node, 1000) and may_preempt(None, None, {}, 0)
