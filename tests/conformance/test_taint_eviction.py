"""The taint eviction controller, as kube-controller-manager runs it: a NoExecute taint (here
NTH's out-of-service one, set with kubectl) deletes at once the pods that do not tolerate it,
after `tolerationSeconds` those that tolerate it for a while, never those that tolerate it for
good, and records TaintManagerEviction.  Through kubectl and the Python client."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)

pytestmark = pytest.mark.integration

TAINT = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}


def test_no_execute_taints_evict_as_the_tolerations_say(sim: Any) -> None:
    core, apps, _, _ = sim.kube()
    node_group(sim, "taint-evict", ("m5.large",), desired=1)
    node = wait_ready_nodes(core, "taint-evict", 1)[0].metadata.name
    ns = namespace(core, "taint-evict")
    first = {}
    for app, toleration in (("plain", None), ("for-a-while", {**TAINT, "operator": "Equal", "tolerationSeconds": 60}),
                            ("for-good", {**TAINT, "operator": "Equal"})):
        apps.create_namespaced_deployment(ns, deployment(app, 1, "taint-evict", cpu="100m", extra_spec={"tolerations": [toleration]} if toleration else None))
        first[app] = wait_running(core, ns, app, 1)[0].metadata.name
    subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "taint", "nodes", node, "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute"],
                   check=True, capture_output=True, timeout=30)

    def still_there(app: str) -> bool:  # the first pod of the app (a replacement may land there again when it tolerates the taint)
        pods = core.list_namespaced_pod(ns, field_selector=f"metadata.name={first[app]}").items
        return bool(pods) and pods[0].metadata.deletion_timestamp is None

    wait_for(lambda: not still_there("plain"), 10, "the pod without a toleration evicted")
    assert still_there("for-a-while") and still_there("for-good")  # 60 cluster seconds are 3 real ones at speed 20
    wait_for(lambda: not still_there("for-a-while"), 20, "the pod tolerating 60 s evicted once they ran out")
    assert still_there("for-good")
    reasons = [e.message for e in core.list_namespaced_event(ns).items if e.reason == "TaintManagerEviction"]
    assert any(m.startswith(f"Marking for deletion Pod {ns}/plain-") for m in reasons), reasons
