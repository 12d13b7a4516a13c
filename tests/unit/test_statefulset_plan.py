"""The StatefulSet controller's next step (cluster/sim/controllers/statefulset_plan.py), as
kube-controller-manager's stateful_set_control.go takes it."""

from __future__ import annotations

from cluster.sim.controllers.statefulset_plan import PodState, ordinal_of, plan


def _pods(*states: tuple[int, str, bool], rev: str = "r1", terminating: tuple[int, ...] = (), failed: tuple[int, ...] = ()) -> dict[int, PodState]:
    return {o: PodState(o, r or rev, ok, o in terminating, o in failed) for o, r, ok in states}


def test_ordered_ready_creates_one_pod_at_a_time_in_order() -> None:
    spec = {"replicas": 3}
    assert plan(spec, {}, "r1").create == [0]
    assert plan(spec, _pods((0, "", False)), "r1").create == []  # pod 0 not Running and Ready yet
    assert plan(spec, _pods((0, "", True)), "r1").create == [1]
    assert plan(spec, _pods((0, "", True), (2, "", True)), "r1").create == [1]  # a hole is filled first


def test_parallel_creates_every_missing_pod_at_once() -> None:
    assert plan({"replicas": 3, "podManagementPolicy": "Parallel"}, _pods((1, "", False)), "r1").create == [0, 2]


def test_a_deleted_or_failed_pod_comes_back_under_its_name() -> None:
    spec = {"replicas": 3}
    assert plan(spec, _pods((0, "", True), (2, "", True)), "r1").create == [1]
    failed = plan(spec, _pods((0, "", True), (1, "", False), (2, "", True), failed=(1,)), "r1")
    assert failed.delete == [1] and failed.create == []
    assert plan(spec, _pods((0, "", True), (1, "", False), (2, "", True), terminating=(1,)), "r1").create == []  # the name is still taken


def test_scale_down_goes_from_the_highest_ordinal_one_at_a_time() -> None:
    spec = {"replicas": 1}
    assert plan(spec, _pods((0, "", True), (1, "", True), (2, "", True)), "r1").delete == [2]
    assert plan(spec, _pods((0, "", True), (1, "", True), (2, "", True), terminating=(2,)), "r1").delete == []
    assert plan(spec, _pods((0, "", False), (1, "", True)), "r1").delete == []  # a kept pod not Ready: wait
    assert plan({"replicas": 0, "podManagementPolicy": "Parallel"}, _pods((0, "", True), (1, "", True)), "r1").delete == [1, 0]


def test_a_rolling_update_replaces_the_highest_old_ordinal_once_all_are_ready() -> None:
    spec = {"replicas": 3}
    assert plan(spec, _pods((0, "", True), (1, "", True), (2, "", True)), "r2").delete == [2]
    assert plan(spec, _pods((0, "", True), (1, "", True), (2, "r2", False)), "r2").delete == []  # the new pod 2 not Ready yet
    assert plan(spec, _pods((0, "", True), (1, "", True), (2, "r2", True)), "r2").delete == [1]
    partitioned = {"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}
    assert plan(partitioned, _pods((0, "", True), (1, "", True), (2, "r2", True)), "r2").delete == []
    assert plan({"replicas": 3, "updateStrategy": {"type": "OnDelete"}}, _pods((0, "", True), (1, "", True), (2, "", True)), "r2").delete == []


def test_ordinals_are_read_from_names() -> None:
    assert ordinal_of("web", "web-12") == 12
    assert ordinal_of("web", "web-x") is None
    assert ordinal_of("web", "webby-1") is None
