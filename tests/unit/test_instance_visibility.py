"""EC2 forgets terminated instances after about an hour (cluster/sim/aws/instance_visibility.py)."""

from __future__ import annotations

from cluster.sim.aws.instance_visibility import TERMINATED_VISIBLE_S, expired


def test_terminated_instances_are_forgotten_an_hour_after_first_seen() -> None:
    seen, gone = expired({}, ["i-a", "i-b"], now=100.0)
    assert seen == {"i-a": 100.0, "i-b": 100.0} and gone == []
    seen, gone = expired(seen, ["i-a", "i-b", "i-c"], now=100.0 + TERMINATED_VISIBLE_S)
    assert gone == [] and seen["i-c"] == 100.0 + TERMINATED_VISIBLE_S  # exactly an hour: still shown
    seen, gone = expired(seen, ["i-a", "i-b", "i-c"], now=101.0 + TERMINATED_VISIBLE_S)
    assert gone == ["i-a", "i-b"] and seen == {"i-c": 100.0 + TERMINATED_VISIBLE_S}


def test_an_instance_no_longer_terminated_is_not_tracked() -> None:
    seen, gone = expired({"i-a": 0.0, "i-gone": 0.0}, ["i-a"], now=10.0, visible_for=60.0)
    assert seen == {"i-a": 0.0} and gone == []
