"""EKS managed node groups on Spot, as EKS runs them: no NTH in the cluster, the group itself
answers EC2's events.  A rebalance recommendation alone launches a replacement and, once its
node is Ready, cordons and drains the old node and ends the old instance (the group back to its
size); a notice drains at once.  Driven through the simulator's control API (EC2's side) and
read through the Kubernetes and Auto Scaling APIs."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    ready_nodes,
    wait_ready_nodes,
    wait_running,
)
from tests.integration.spot_helpers import control, instance_of, instance_state

pytestmark = pytest.mark.integration

MANAGED = "eks:nodegroup-name"


def _group(sim: Any, name: str) -> dict[str, Any]:
    (group,) = sim.aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[f"eks-TensorFlowServingCluster-{name}"])["AutoScalingGroups"]
    return group


def test_a_rebalance_recommendation_replaces_the_node_then_drains_and_ends_it(sim: Any) -> None:
    core, apps, _, _ = sim.kube()
    node_group(sim, "mng-rebalance", ("m5.xlarge", "m5a.xlarge", "m5d.xlarge", "m4.xlarge"), 1, tags={MANAGED: "mng-rebalance"})
    (old,) = wait_ready_nodes(core, "mng-rebalance", 1, 60)
    assert old.metadata.labels["eks.amazonaws.com/nodegroup"] == "mng-rebalance"
    ns = namespace(core, "mng-rebalance")
    apps.create_namespaced_deployment(ns, deployment("solo", 1, "mng-rebalance"))
    (pod,) = wait_running(core, ns, "solo", 1, 60)
    assert control(sim, f"/v1/instances/{instance_of(old)}/rebalance-recommendation", {})[0] == 201

    # the replacement first: the group grows by one, and the old node keeps its pod until the new node is Ready
    wait_for(lambda: _group(sim, "mng-rebalance")["DesiredCapacity"] == 2 or None, 30, "the replacement launched")
    new = wait_for(lambda: [n for n in ready_nodes(core, "mng-rebalance") if n.metadata.name != old.metadata.name], 60, "the replacement Ready")
    # then the old node is cordoned and drained, its pod runs on the replacement, the old instance ends
    wait_for(lambda: core.read_node(old.metadata.name).spec.unschedulable or None, 30, "the old node cordoned")
    moved = wait_for(lambda: [p for p in core.list_namespaced_pod(ns).items if p.status.phase == "Running" and p.spec.node_name == new[0].metadata.name],
                     60, "the pod on the replacement")
    assert moved[0].metadata.name != pod.metadata.name
    wait_for(lambda: instance_state(sim, instance_of(old))["State"]["Name"] in ("shutting-down", "terminated") or None, 60, "the old instance ended")
    wait_for(lambda: _group(sim, "mng-rebalance")["DesiredCapacity"] == 1 or None, 30, "the group back to its size")


def test_a_notice_drains_at_once_and_unmanaged_groups_are_left_to_nth(sim: Any) -> None:
    core, apps, _, _ = sim.kube()
    node_group(sim, "mng-notice", ("m5.xlarge", "m5a.xlarge", "m5d.xlarge", "m4.xlarge"), 1, tags={MANAGED: "mng-notice"})
    node_group(sim, "self-managed", ("m5.xlarge", "m5a.xlarge"), 1)
    (managed,) = wait_ready_nodes(core, "mng-notice", 1, 60)
    (plain,) = wait_ready_nodes(core, "self-managed", 1, 60)
    for node in (managed, plain):
        assert control(sim, f"/v1/instances/{instance_of(node)}/spot-interruption", {"reclaim": False})[0] == 201
    wait_for(lambda: core.read_node(managed.metadata.name).spec.unschedulable or None, 30, "the managed node cordoned on the notice")
    assert not core.read_node(plain.metadata.name).spec.unschedulable  # no NTH here, and EKS does not manage that group
