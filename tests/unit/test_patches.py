from __future__ import annotations

import pytest

from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.patches import (
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    apply_patch,
    merge_patch,
    strategic_merge_patch,
)


def test_kubectl_cordon_patch():
    node = {"metadata": {"name": "n"}, "spec": {"providerID": "aws:///a/i-1"}}
    assert apply_patch(STRATEGIC, node, {"spec": {"unschedulable": True}})["spec"] == {"providerID": "aws:///a/i-1", "unschedulable": True}


def test_taints_are_replaced_whole_as_kubectl_taint_expects():
    node = {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}}
    out = strategic_merge_patch(node, {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}})
    assert out["spec"]["taints"] == [{"key": "b", "effect": "NoExecute"}]


def test_conditions_merge_by_type_and_containers_by_name():
    pod = {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]},
           "spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}}
    out = strategic_merge_patch(pod, {"status": {"conditions": [{"type": "Ready", "status": "False"}]}, "spec": {"containers": [{"name": "b", "image": "y:2"}]}})
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]
    assert out["spec"]["containers"] == [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}]
    deleted = strategic_merge_patch(pod, {"spec": {"containers": [{"name": "a", "$patch": "delete"}], "$setElementOrder/containers": [{"name": "b"}]}})
    assert [c["name"] for c in deleted["spec"]["containers"]] == ["b"]


def test_merge_patch_null_removes():
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None}}) == {"a": {"c": 2}}
    assert apply_patch(MERGE, {"metadata": {"labels": {"x": "1"}}}, {"metadata": {"labels": {"y": "2"}}})["metadata"]["labels"] == {"x": "1", "y": "2"}


def test_json_patch_and_its_errors():
    assert apply_patch(JSON_PATCH, {"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}]) == {"a": [1, 2]}
    with pytest.raises(ApiError) as err:
        apply_patch(JSON_PATCH, {"a": 1}, [{"op": "remove", "path": "/missing"}])
    assert err.value.code == 422
    with pytest.raises(ApiError) as err:
        apply_patch("text/plain", {}, {})
    assert err.value.code == 415
