"""Choosing the nodes to interrupt, from the journal's node and pod records (pure)."""

from __future__ import annotations

import pytest

from chaos.errors import InjectionError
from chaos.inject.selection import Selection, candidates, choose, serving_pods_per_node
from tests.records import typed


def node(name: str, group: str = "spot-a", **kw) -> dict:
    return {"kind": "node", "node": name, "instance": f"i-{abs(hash(name)) % 16**12:012x}", "group": group, "az": "us-east-1a", "type": "m5.xlarge",
            "capacity": "SPOT", "ready": True, "unschedulable": False, "deleted": False, **kw}


def pod(name: str, on: str, **kw) -> dict:
    return {"kind": "pod", "pod": f"serving/{name}", "node": on, "ready": True, "terminating": False, "deleted": False, **kw}


NODES = [node("n1"), node("n2"), node("n3"), node("n4", unschedulable=True), node("n5", ready=False), node("n6", group="spot-b")]
PODS = [
    pod("resnet-v1-abc-1", "n1"), pod("resnet-v1-abc-2", "n1"),
    pod("resnet-v1-abc-3", "n3", ready=False),  # not Ready
    pod("resnet-v1-abc-4", "n2"), pod("resnet-v1-abc-4", "n2", terminating=True),  # the latest record counts: leaving
    pod("other-app-1", "n6"),  # another Deployment
    pod("resnet-v1-abc-5", "n6"),
]


def test_serving_pods_are_counted_per_node_from_the_latest_records() -> None:
    assert serving_pods_per_node(typed(PODS), "serving", "resnet-v1") == {"n1": 2, "n6": 1}


def test_only_ready_schedulable_nodes_are_candidates_and_the_filter_keeps_those_with_serving_pods() -> None:
    pool = candidates(typed(NODES), serving_pods_per_node(typed(PODS), "serving", "resnet-v1"))
    assert [c.node for c in pool] == ["n1", "n2", "n3", "n6"]
    chosen = choose(Selection(count=2, serving_pods=True), pool, set(), "seed", "injections[0]")
    assert {c.node for c in chosen} == {"n1", "n6"}
    assert [c.node for c in choose(Selection(count=1, serving_pods=True, node_group="spot-a"), pool, set(), "seed", "injections[0]")] == ["n1"]
    # the same seed picks the same nodes
    assert choose(Selection(count=2), pool, set(), "s", "x") == choose(Selection(count=2), pool, set(), "s", "x")


def test_asking_for_more_nodes_than_match_names_the_filters() -> None:
    pool = candidates(typed(NODES), serving_pods_per_node(typed(PODS), "serving", "resnet-v1"))
    with pytest.raises(InjectionError, match=r"injections\[1\]\.select: wants 3 nodes but only 2 Ready nodes match \(capacity_type=SPOT, serving_pods=True\)"):
        choose(Selection(count=3, serving_pods=True), pool, set(), "seed", "injections[1]")
