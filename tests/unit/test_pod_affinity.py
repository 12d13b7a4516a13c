"""kube-scheduler's InterPodAffinity, pure (cluster/sim/controllers/pod_affinity.py): required
affinity (with the first pod of a set allowed), required anti-affinity both ways, namespaces, and
the preferred terms' score."""

from __future__ import annotations

from collections import Counter

from cluster.sim.controllers.pod_affinity import (
    AFFINITY_NOT_MATCH,
    ANTI_AFFINITY_NOT_MATCH,
    EXISTING_ANTI_AFFINITY_NOT_MATCH,
    Affinity,
    Placed,
)
from cluster.sim.controllers.scheduling import NodeInfo, pick_node

ZONE, HOST = "topology.kubernetes.io/zone", "kubernetes.io/hostname"


def node(name: str, zone: str) -> NodeInfo:
    return NodeInfo(name, {ZONE: zone, HOST: name}, [], False, 4000, 8 << 30, 110)


NODES = {n.name: n for n in (node("a1", "a"), node("a2", "a"), node("b1", "b"))}


def term(app: str, key: str = HOST, **extra: object) -> dict:
    return {"topologyKey": key, "labelSelector": {"matchLabels": {"app": app}}, **extra}


def pod(app: str, ns: str = "shop", **affinity: object) -> dict:
    return {"metadata": {"namespace": ns, "labels": {"app": app}}, "spec": {"affinity": affinity} if affinity else {}}


def placed(node_name: str, app: str, ns: str = "shop", **affinity: object) -> Placed:
    p = pod(app, ns, **affinity)
    return Placed(node_name, ns, p["metadata"]["labels"], p["spec"])


def test_required_anti_affinity_keeps_replicas_off_each_others_hosts_and_zones():
    web = pod("web", podAntiAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [term("web")]})
    aff = Affinity.of(web, NODES, [placed("a1", "web")])
    assert aff is not None
    assert [aff.filter_reason(NODES[n]) for n in ("a1", "a2", "b1")] == [ANTI_AFFINITY_NOT_MATCH, None, None]
    by_zone = pod("web", podAntiAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [term("web", ZONE)]})
    aff = Affinity.of(by_zone, NODES, [placed("a1", "web")])
    assert aff is not None and [aff.filter_reason(NODES[n]) for n in ("a1", "a2", "b1")] == [ANTI_AFFINITY_NOT_MATCH] * 2 + [None]


def test_an_existing_pods_anti_affinity_keeps_the_incoming_pod_away_symmetrically():
    guard = placed("a1", "db", podAntiAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [term("web", ZONE)]})
    aff = Affinity.of(pod("web"), NODES, [guard])
    assert aff is not None and [aff.filter_reason(NODES[n]) for n in ("a1", "a2", "b1")] == [EXISTING_ANTI_AFFINITY_NOT_MATCH] * 2 + [None]
    assert Affinity.of(pod("cache"), NODES, [guard]) is None or Affinity.of(pod("cache"), NODES, [guard]).filter_reason(NODES["a1"]) is None  # type: ignore[union-attr]


def test_required_affinity_needs_a_matching_pod_in_the_domain_except_for_the_first_of_a_set():
    web = pod("web", podAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [term("cache", ZONE)]})
    aff = Affinity.of(web, NODES, [placed("b1", "cache")])
    assert aff is not None and [aff.filter_reason(NODES[n]) for n in ("a1", "b1")] == [AFFINITY_NOT_MATCH, None]
    nowhere = Affinity.of(web, NODES, [])
    assert nowhere is not None and nowhere.filter_reason(NODES["b1"]) == AFFINITY_NOT_MATCH  # no cache pod at all: it waits
    itself = pod("web", podAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [term("web", ZONE)]})
    first = Affinity.of(itself, NODES, [])
    assert first is not None and first.filter_reason(NODES["a1"]) is None  # the first of a set that follows itself


def test_terms_look_in_their_own_namespace_unless_told_otherwise():
    web = pod("web", podAntiAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [term("web")]})
    other_ns = [placed("a1", "web", ns="staging")]
    assert Affinity.of(web, NODES, other_ns).filter_reason(NODES["a1"]) is None  # type: ignore[union-attr]
    listed = pod("web", podAntiAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [term("web", namespaces=["staging"])]})
    assert Affinity.of(listed, NODES, other_ns).filter_reason(NODES["a1"]) == ANTI_AFFINITY_NOT_MATCH  # type: ignore[union-attr]
    everywhere = pod("web", podAntiAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [term("web", namespaceSelector={})]})
    assert Affinity.of(everywhere, NODES, other_ns).filter_reason(NODES["a1"]) == ANTI_AFFINITY_NOT_MATCH  # type: ignore[union-attr]
    labelled = pod("web", podAntiAffinity={"requiredDuringSchedulingIgnoredDuringExecution": [
        term("web", namespaceSelector={"matchLabels": {"env": "staging"}})]})
    found = Affinity.of(labelled, NODES, other_ns, lambda: {"staging": {"env": "staging"}, "shop": {}})
    assert found is not None and found.filter_reason(NODES["a1"]) == ANTI_AFFINITY_NOT_MATCH


def test_preferred_terms_steer_without_filtering():
    web = pod("web", podAntiAffinity={"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term("web", ZONE)}]})
    aff = Affinity.of(web, NODES, [placed("a1", "web")])
    assert aff is not None and all(aff.filter_reason(n) is None for n in NODES.values())
    penalty = aff.penalties(NODES, list(NODES))
    assert penalty == {"a1": 200.0, "a2": 200.0, "b1": 0.0}
    best = pick_node(NODES, list(NODES), 0, 100, 1 << 20, None, 3, Counter(), penalty)
    assert best is not None and best.name == "b1"
    near = pod("api", podAffinity={"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 50, "podAffinityTerm": term("cache", ZONE)}]})
    pull = Affinity.of(near, NODES, [placed("b1", "cache")])
    assert pull is not None and pull.penalties(NODES, list(NODES)) == {"a1": 200.0, "a2": 200.0, "b1": 0.0}
