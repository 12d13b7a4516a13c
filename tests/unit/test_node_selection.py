"""Choosing the nodes to interrupt, from the journal's node and pod records (pure)."""

from __future__ import annotations

import pytest

from chaos.errors import InjectionError
from chaos.inject.selection import Selection, candidates, choose, serving_pods_per_node
from tests.records import typed


def node(name: str, group: str = "spot-a", **kw) -> dict:
    return {"kind": "node", "node": name, "instance": f"i-{abs(hash(name)) % 16**12:012x}", "group": group, "az": "us-east-1a", "type": "m5.xlarge",
            "capacity": "SPOT", "ready": True, "unschedulable": False, "deleted": False, **kw}


RS = {"owner_kind": "ReplicaSet", "owner": "resnet-v1-7f9c6d5b8"}


def pod(name: str, on: str, **kw) -> dict:
    return {"kind": "pod", "pod": f"serving/{name}", "node": on, "ready": True, "terminating": False, "deleted": False, **kw}


NODES = [node("n1"), node("n2"), node("n3"), node("n4", unschedulable=True), node("n5", ready=False), node("n6", group="spot-b")]
PODS = [
    pod("resnet-v1-7f9c6d5b8-a1b2c", "n1", **RS), pod("resnet-v1-7f9c6d5b8-d3e4f", "n1", **RS),
    pod("resnet-v1-7f9c6d5b8-g5h6j", "n3", ready=False, **RS),  # not Ready
    pod("resnet-v1-7f9c6d5b8-k7l8m", "n2", **RS), pod("resnet-v1-7f9c6d5b8-k7l8m", "n2", terminating=True, **RS),  # the latest record counts: leaving
    pod("other-app-5d4c3b2a1-n9p8q", "n6", owner_kind="ReplicaSet", owner="other-app-5d4c3b2a1"),  # another Deployment
    pod("resnet-v1-7f9c6d5b8-r7s6t", "n6", **RS),
]


def test_serving_pods_are_counted_per_node_from_the_latest_records() -> None:
    assert serving_pods_per_node(typed(PODS), "serving", "resnet-v1") == {"n1": 2, "n6": 1}


def test_a_pod_whose_name_starts_like_the_deployments_is_not_one_of_its_pods() -> None:
    """The EKS workshop's catalog: Deployment `catalog` and StatefulSet `catalog-mysql` in one
    namespace.  Counted by name prefix, the database's node was taken for the catalog's, and the
    known-bad experiment interrupting it passed."""
    records = [pod("catalog-mysql-0", "db-node", owner_kind="StatefulSet", owner="catalog-mysql"),
               pod("catalog-dcg72z2fgb-hj4d4", "app-node", owner_kind="ReplicaSet", owner="catalog-dcg72z2fgb"),
               pod("catalog-mysql-5d4c3b2a1-x1y2z", "db-node", owner_kind="ReplicaSet", owner="catalog-mysql-5d4c3b2a1")]  # Deployment catalog-mysql
    assert serving_pods_per_node(typed(records), "serving", "catalog") == {"app-node": 1}
    # a journal written before the owner was recorded: the names a ReplicaSet gives, and no more
    old = [{k: v for k, v in r.items() if k != "owner"} for r in records]
    assert serving_pods_per_node(typed(old), "serving", "catalog") == {"app-node": 1}
    assert serving_pods_per_node(typed(records), "other", "catalog") == {}


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
