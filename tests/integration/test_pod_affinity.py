"""Pod anti-affinity in the simulator's scheduler, as kube-scheduler's InterPodAffinity keeps it:
replicas that must not share a host fill the hosts there are and the rest wait, FailedScheduling
naming the rule; a new node takes the waiting one."""

from __future__ import annotations

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)


def test_replicas_that_must_not_share_a_host_wait_for_a_host_of_their_own(sim):
    core, apps, *_ = sim.kube()
    asg = node_group(sim, "anti-group", ("m5.xlarge",), desired=2)
    wait_ready_nodes(core, "anti-group", 2)
    ns = namespace(core, "anti")
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}]}}
    apps.create_namespaced_deployment(ns, deployment("web", 3, "anti-group", extra_spec={"affinity": anti}))
    running = wait_running(core, ns, "web", 2)
    assert len({p.spec.node_name for p in running}) == 2

    def waiting() -> str | None:
        for p in core.list_namespaced_pod(ns, label_selector="app=web").items:
            for c in p.status.conditions or []:
                if c.type == "PodScheduled" and c.reason == "Unschedulable":
                    return c.message
        return None

    message = wait_for(waiting, 30, "the third replica Unschedulable")
    assert "2 node(s) didn't match pod anti-affinity rules" in message, message
    sim.aws("autoscaling").set_desired_capacity(AutoScalingGroupName=asg, DesiredCapacity=3)
    pods = wait_running(core, ns, "web", 3, timeout=60)
    assert len({p.spec.node_name for p in pods}) == 3
