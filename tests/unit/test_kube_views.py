"""The read-only views over Kubernetes objects: conditions, Ready, taints, read the same way by
the simulator, the doctor and the harness; a missing part reads as absent."""

from __future__ import annotations

from cluster.kube_views import condition_status, condition_true, has_taint, is_ready, taints

NODE = {
    "spec": {"taints": [{"key": "aws-node-termination-handler/spot-itn", "effect": "NoSchedule"}]},
    "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "Unknown"}]},
}


def test_conditions_ready_and_taints() -> None:
    assert condition_status(NODE, "Ready") == "Unknown" and not is_ready(NODE)
    assert condition_status(NODE, "DiskPressure") is None and not condition_true(NODE, "MemoryPressure")
    assert is_ready({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert has_taint(NODE, "aws-node-termination-handler/spot-itn") and not has_taint(NODE, "karpenter.sh/disrupted")
    assert [t["effect"] for t in taints(NODE)] == ["NoSchedule"]
    for bare in ({}, {"status": None, "spec": None}, {"status": {"conditions": None}}):
        assert not is_ready(bare) and condition_status(bare, "Ready") is None and taints(bare) == [] and not has_taint(bare, "x")
