"""The status the simulated Karpenter writes (cluster/sim/addons/karpenter_status.py): a NodeClass
is Ready once its subnets resolve, a NodePool is Ready with its NodeClass and counts its nodes,
and a condition keeps its lastTransitionTime while it holds."""

from __future__ import annotations

from cluster.sim.addons.karpenter_status import nodeclass_status, nodepool_status


def _ready(status: dict) -> str:
    return next(c["status"] for c in status["conditions"] if c["type"] == "Ready")


def test_a_nodeclass_is_ready_once_its_subnets_resolve() -> None:
    cls = {"metadata": {"name": "default", "generation": 2}, "spec": {"role": "KarpenterNodeRole-shop"}}
    none = nodeclass_status(cls, {}, "ami-1", "shop", "2026-12-05T00:00:00Z")
    assert _ready(none) == "False" and any(c["reason"] == "SubnetsNotFound" for c in none["conditions"])
    found = nodeclass_status({**cls, "status": none}, {"us-east-1a": "subnet-1"}, "ami-1", "shop", "2026-12-05T00:01:00Z")
    assert _ready(found) == "True" and found["subnets"] == [{"id": "subnet-1", "zone": "us-east-1a"}]
    assert found["instanceProfile"].startswith("shop_") and all(c["observedGeneration"] == 2 for c in found["conditions"])
    again = nodeclass_status({**cls, "status": found}, {"us-east-1a": "subnet-1"}, "ami-1", "shop", "2026-12-05T00:02:00Z")
    assert again == found  # nothing changed: no new transition time, no write


def test_a_nodepool_counts_its_nodes_and_follows_its_nodeclass() -> None:
    node = {"status": {"capacity": {"cpu": "4", "memory": "16Gi", "pods": "58"}}}
    status = nodepool_status({"metadata": {"name": "spot"}}, [node, node], True, "2026-12-05T00:00:00Z")
    assert status["nodes"] == 2 and status["resources"]["cpu"] == "8" and status["resources"]["pods"] == "116"
    assert _ready(status) == "True"
    assert _ready(nodepool_status({"metadata": {"name": "spot"}}, [], False, "2026-12-05T00:00:00Z")) == "False"
