"""kube-scheduler's PodTopologySpread, pure (cluster/sim/controllers/topology_spread.py): the skew
rule with the global minimum and minDomains, matchLabelKeys, the node inclusion policies and the
ScheduleAnyway score, on the cases the upstream plugin's own tests walk through."""

from __future__ import annotations

from collections import Counter

from cluster.sim.controllers.scheduling import NodeInfo, pick_node
from cluster.sim.controllers.topology_spread import (
    CONSTRAINTS_NOT_MATCH,
    NODE_LABEL_NOT_MATCH,
    Spread,
)

ZONE = "topology.kubernetes.io/zone"


def node(name: str, zone: str | None, taints: list | None = None, **labels: str) -> NodeInfo:
    return NodeInfo(name, {**({ZONE: zone} if zone else {}), "kubernetes.io/hostname": name, **labels}, taints or [], False,
                    4000, 8 << 30, 110)


def pod(when: str = "DoNotSchedule", max_skew: int = 1, **extra: object) -> dict:
    constraint = {"maxSkew": max_skew, "topologyKey": ZONE, "whenUnsatisfiable": when, "labelSelector": {"matchLabels": {"app": "web"}}, **extra}
    return {"metadata": {"labels": {"app": "web", "version": "v2"}}, "spec": {"topologySpreadConstraints": [constraint]}}


NODES = {n.name: n for n in (node("a1", "a"), node("b1", "b"), node("c1", "c"))}
WEB = {"app": "web"}


def test_a_node_whose_zone_would_exceed_max_skew_is_filtered_and_the_emptiest_zone_passes():
    spread = Spread.of(pod(), NODES, [("a1", WEB), ("b1", WEB)])  # a: 1, b: 1, c: 0
    assert spread is not None
    assert spread.filter_reason(NODES["a1"]) == CONSTRAINTS_NOT_MATCH  # 1 + 1 - 0 > 1
    assert spread.filter_reason(NODES["c1"]) is None
    assert Spread.of(pod(max_skew=2), NODES, [("a1", WEB), ("b1", WEB)]).filter_reason(NODES["a1"]) is None  # type: ignore[union-attr]


def test_a_zone_that_lost_its_pods_but_still_has_a_node_holds_the_others_back():
    """An AZ down: its node is still there (NotReady, tainted: nodeTaintsPolicy Ignore counts it) with
    no matching pod, so the global minimum is 0 and the other zones cannot take the lost replicas."""
    down = {**NODES, "a1": node("a1", "a", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}])}
    spread = Spread.of(pod(), down, [("b1", WEB), ("c1", WEB)])
    assert spread is not None and [spread.filter_reason(down[n]) for n in ("b1", "c1")] == [CONSTRAINTS_NOT_MATCH] * 2
    honour = Spread.of(pod(nodeTaintsPolicy="Honor"), down, [("b1", WEB), ("c1", WEB)])  # the tainted node does not count: two domains
    assert honour is not None and honour.filter_reason(down["b1"]) is None


def test_min_domains_keeps_the_minimum_at_zero_until_enough_domains_exist():
    two = {n: NODES[n] for n in ("a1", "b1")}
    placed = [("a1", WEB), ("b1", WEB)]
    assert Spread.of(pod(), two, placed).filter_reason(two["a1"]) is None  # type: ignore[union-attr]  # 1 + 1 - 1 = 1
    assert Spread.of(pod(minDomains=3), two, placed).filter_reason(two["a1"]) == CONSTRAINTS_NOT_MATCH  # type: ignore[union-attr]


def test_a_node_without_the_topology_key_is_filtered_and_other_pods_do_not_count():
    nodes = {**NODES, "x1": node("x1", None)}
    spread = Spread.of(pod(), nodes, [("a1", {"app": "other"}), ("a1", {"app": "other"})])
    assert spread is not None and spread.filter_reason(nodes["x1"]) == NODE_LABEL_NOT_MATCH and spread.filter_reason(nodes["a1"]) is None


def test_match_label_keys_count_only_pods_of_the_same_revision():
    placed = [("a1", {"app": "web", "version": "v1"}), ("a1", {"app": "web", "version": "v1"})]
    assert Spread.of(pod(), NODES, placed).filter_reason(NODES["a1"]) == CONSTRAINTS_NOT_MATCH  # type: ignore[union-attr]
    assert Spread.of(pod(matchLabelKeys=["version"]), NODES, placed).filter_reason(NODES["a1"]) is None  # type: ignore[union-attr]


def test_node_affinity_policy_leaves_out_nodes_the_pod_may_not_use():
    nodes = {**NODES, "c1": node("c1", "c", pool="gpu")}
    selected = pod()
    selected["spec"]["nodeSelector"] = {"pool": "gpu"}
    # honoured (default): only c1's zone counts, so c is the minimum and its own count decides
    spread = Spread.of(selected, nodes, [("a1", WEB), ("b1", WEB), ("c1", WEB)])
    assert spread is not None and spread.filter_reason(nodes["c1"]) is None
    ignored = pod(nodeAffinityPolicy="Ignore")
    ignored["spec"]["nodeSelector"] = {"pool": "gpu"}
    spread = Spread.of(ignored, nodes, [("a1", WEB), ("b1", WEB), ("c1", WEB), ("c1", WEB)])
    assert spread is not None and spread.filter_reason(nodes["c1"]) == CONSTRAINTS_NOT_MATCH  # 2 + 1 - 1 > 1


def test_schedule_anyway_never_filters_and_steers_to_the_emptiest_zone():
    placed = [("a1", WEB), ("a1", WEB), ("b1", WEB)]
    spread = Spread.of(pod("ScheduleAnyway"), NODES, placed)
    assert spread is not None and all(spread.filter_reason(n) is None for n in NODES.values())
    penalty = spread.penalties(NODES, list(NODES))
    assert penalty["c1"] == 0.0 and penalty["a1"] == 200.0 and 0 < penalty["b1"] < 200
    best = pick_node(NODES, list(NODES), 0, 100, 1 << 20, None, 3, Counter(), penalty)
    assert best is not None and best.name == "c1"
    assert pick_node(NODES, list(NODES), 0, 100, 1 << 20, None, 3, Counter()).name == "a1"  # type: ignore[union-attr]  # without it, the first of equals
