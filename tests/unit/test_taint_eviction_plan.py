"""When a NoExecute taint evicts a pod (cluster/sim/controllers/taint_eviction_plan.py)."""

from __future__ import annotations

from cluster.sim.controllers.taint_eviction_plan import NEVER, eviction_time

OOS = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}


def test_an_untolerated_no_execute_taint_evicts_now() -> None:
    assert eviction_time([], [OOS], {}, now=100.0) == 100.0
    # tolerating one of two taints is not enough
    assert eviction_time([{"key": UNREACHABLE["key"], "operator": "Exists", "effect": "NoExecute"}], [OOS, UNREACHABLE], {}, now=5.0) == 5.0


def test_toleration_seconds_count_from_the_taint_and_the_shortest_wins() -> None:
    tolerations = [{"key": UNREACHABLE["key"], "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                   {"operator": "Exists", "tolerationSeconds": 600}]
    assert eviction_time(tolerations, [UNREACHABLE], {UNREACHABLE["key"]: 40.0}, now=50.0) == 340.0
    assert eviction_time([{"key": OOS["key"], "operator": "Equal", "value": "nodeshutdown", "tolerationSeconds": -5}], [OOS], {OOS["key"]: 10.0}, now=20.0) == 10.0


def test_tolerating_for_good_or_other_effects_never_evicts() -> None:
    assert eviction_time([{"operator": "Exists"}], [OOS], {}, now=1.0) == NEVER
    assert eviction_time([], [{"key": "x", "effect": "NoSchedule"}], {}, now=1.0) == NEVER
    # a toleration with a limit only for another taint does not limit this one
    assert eviction_time([{"operator": "Exists", "effect": "NoExecute"}, {"key": "other", "operator": "Exists", "tolerationSeconds": 1}], [OOS], {}, now=1.0) == NEVER
