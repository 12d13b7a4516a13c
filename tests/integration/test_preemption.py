"""PriorityClass preemption in the simulator, through the Python kubernetes client: a pod naming
an unknown class is refused with the API server's message; a high-priority pod that finds its node
group full evicts the fewest low-priority pods (told "Preempted"), is nominated to their node and
runs there once they are gone, while the evicted pods' replacements wait."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    running_pods,
    wait_ready_nodes,
    wait_running,
)

GROUP = "preempt-group"


def test_an_unknown_priority_class_is_refused(sim):
    core, *_ = sim.kube()
    ns = namespace(core, "prio-refused")
    pod = {"metadata": {"name": "web-1"}, "spec": {"priorityClassName": "no-such-class", "containers": [{"name": "app", "image": "shop/web:1"}]}}
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod(ns, pod)
    assert caught.value.status == 403 and "no PriorityClass with name no-such-class was found" in caught.value.body


def test_a_high_priority_pod_preempts_low_priority_ones_on_a_full_node(sim):
    core, apps, *_ = sim.kube()
    scheduling = client.SchedulingV1Api(core.api_client)
    scheduling.create_priority_class({"metadata": {"name": "preempt-test-high"}, "value": 1000})
    node_group(sim, GROUP, ("m5.large",), desired=1)
    (node,) = wait_ready_nodes(core, GROUP, 1, timeout=60)
    ns = namespace(core, "prio-preempt")
    apps.create_namespaced_deployment(ns, deployment("low", 3, GROUP, cpu="600m"))  # 1.8 of the node's ~1.9 vCPU
    wait_running(core, ns, "low", 3, timeout=60)
    high = deployment("high", 1, GROUP, cpu="1000m", extra_spec={"priorityClassName": "preempt-test-high"})
    apps.create_namespaced_deployment(ns, high)
    (placed,) = wait_running(core, ns, "high", 1, timeout=60)
    assert placed.spec.node_name == node.metadata.name and placed.spec.priority == 1000
    preempted = [e for e in core.list_namespaced_event(ns).items if e.reason == "Preempted"]
    assert len(preempted) == 2 and all(f"on node {node.metadata.name}" in e.message for e in preempted)  # the fewest that make room: 2 of 3
    # the evicted pods' replacements find no room and wait
    pending = wait_for(lambda: [p for p in core.list_namespaced_pod(ns, label_selector="app=low").items if p.status.phase == "Pending"] or None,
                       30, "the low pods' replacements Pending")
    assert len(pending) == 2 and len(running_pods(core, ns, "low")) == 1
