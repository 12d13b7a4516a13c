"""A managed node group's Spot decisions (pure), in the EKS user guide's order: a rebalance
launches a replacement; the replacement Ready drains the old node, then the old instance ends; a
notice first (or before the replacement is Ready) drains at once, and EC2's reclaim ends it."""

from __future__ import annotations

from cluster.sim.addons.mng_spot import (
    NodeState,
    Step,
    on_drained,
    on_notice,
    on_rebalance,
    on_replacement_ready,
)


def test_rebalance_then_replacement_ready_drains_and_ends_the_old_instance() -> None:
    s = NodeState()
    assert on_rebalance(s) == [Step.LAUNCH_REPLACEMENT]
    assert on_rebalance(s) == []  # one replacement per node
    assert on_replacement_ready(s) == [Step.DRAIN]
    assert on_notice(s) == []  # already draining
    assert on_drained(s) == []  # the notice came: EC2's reclaim ends it, not the group


def test_rebalance_then_ready_without_a_notice_terminates_after_the_drain() -> None:
    s = NodeState()
    on_rebalance(s)
    on_replacement_ready(s)
    assert on_drained(s) == [Step.TERMINATE]


def test_a_notice_before_the_replacement_drains_at_once() -> None:
    s = NodeState()
    on_rebalance(s)
    assert on_notice(s) == [Step.DRAIN]
    assert on_replacement_ready(s) == []
    only_notice = NodeState()
    assert on_notice(only_notice) == [Step.DRAIN] and on_drained(only_notice) == []
