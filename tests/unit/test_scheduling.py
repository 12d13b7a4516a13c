from __future__ import annotations

from collections import Counter

from cluster.sim.controllers.scheduling import (
    NodeInfo,
    node_selector_matches,
    nodes_to_find,
    pick_node,
    static_reason,
    tolerates,
    unschedulable_message,
)


def node(name: str = "n", **kw) -> NodeInfo:
    base = dict(name=name, labels={"lifecycle": "Ec2Spot"}, taints=[], unschedulable=False, alloc_cpu=3920, alloc_mem=15 * 2**30, alloc_pods=58)
    base.update(kw)
    return NodeInfo(**base)


def test_filters_in_the_order_kube_scheduler_reports_them():
    spec = {"nodeSelector": {"lifecycle": "Ec2Spot"}}
    assert static_reason(spec, node()) is None
    assert static_reason(spec, node(unschedulable=True)) == "node(s) were unschedulable"
    assert static_reason(spec, node(labels={"lifecycle": "OnDemand"})) == "node(s) didn't match Pod's node affinity/selector"
    tainted = node(taints=[{"key": "aws-node-termination-handler/spot-itn", "value": "e1", "effect": "NoSchedule"}])
    assert static_reason(spec, tainted) == "node(s) had untolerated taint {aws-node-termination-handler/spot-itn: e1}"
    assert static_reason({**spec, "tolerations": [{"operator": "Exists"}]}, tainted) is None
    assert static_reason(spec, node(unschedulable=True), daemon=True) is None


def test_resources_and_score():
    def pick(*nodes: NodeInfo, cpu: int = 500, owner: str | None = None, want: int = 100) -> tuple[str | None, Counter[str]]:
        reasons: Counter[str] = Counter()
        best = pick_node({x.name: x for x in nodes}, [x.name for x in nodes], 0, cpu, 0, owner, want, reasons)
        return (best.name if best else None), reasons

    assert pick(node("full", used_cpu=3000), cpu=1000) == (None, Counter({"Insufficient cpu": 1}))
    assert pick(node("crowded", used_pods=58), cpu=0) == (None, Counter({"Too many pods": 1}))
    assert pick(node("busy", used_cpu=2000), node("idle"))[0] == "idle"
    assert pick(node("crowded", pods_by_owner=Counter({"rs": 3})), node("empty"), owner="rs")[0] == "empty"
    assert pick(node("a"), node("b"), want=1)[0] == "a"  # stops after `want` feasible nodes


def test_node_affinity_and_tolerations():
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-east-1a"]}]}]}}}}
    assert node_selector_matches(spec, {"topology.kubernetes.io/zone": "us-east-1a"})
    assert not node_selector_matches(spec, {"topology.kubernetes.io/zone": "us-east-1b"})
    assert tolerates([{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}], {"key": "k", "value": "v", "effect": "NoSchedule"})
    assert not tolerates([{"key": "k", "operator": "Equal", "value": "w"}], {"key": "k", "value": "v", "effect": "NoSchedule"})


def test_failed_scheduling_message_and_adaptive_sampling():
    msg = unschedulable_message(5, Counter({"Insufficient cpu": 2, "node(s) didn't match Pod's node affinity/selector": 3}))
    assert msg.startswith("0/5 nodes are available: 2 Insufficient cpu, 3 node(s) didn't match Pod's node affinity/selector.")
    assert nodes_to_find(50) == 50 and nodes_to_find(1000) == 420 and nodes_to_find(5000) == 500
