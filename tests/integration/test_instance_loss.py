"""An instance that dies takes its pods with it; the node goes NotReady and away, the ASG replaces
the instance, and the workload comes back on the replacement."""

from __future__ import annotations

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)


def test_terminated_instance_loses_its_pods_and_is_replaced(sim):
    core, apps, _, _ = sim.kube()
    asg_name = node_group(sim, "loss-group", ("m5.xlarge", "m4.xlarge"), desired=2)
    nodes = wait_ready_nodes(core, "loss-group", 2)
    ns = namespace(core, "loss")
    apps.create_namespaced_deployment(ns, deployment("svc", 4, "loss-group", cpu="1"))
    pods = wait_running(core, ns, "svc", 4)

    victim = nodes[0]
    instance_id = victim.spec.provider_id.rsplit("/", 1)[1]
    lost = {p.metadata.name for p in pods if p.spec.node_name == victim.metadata.name}
    assert lost
    sim.aws("ec2").terminate_instances(InstanceIds=[instance_id])

    # No drain: the pods' API objects stay until the node is declared gone, then they are collected.
    wait_for(lambda: any(c.type == "Ready" and c.status == "Unknown" for c in core.read_node(victim.metadata.name).status.conditions), 20, "node Ready=Unknown")
    unready = core.list_namespaced_pod(ns, field_selector=f"spec.nodeName={victim.metadata.name}").items
    assert {p.metadata.name for p in unready} == lost
    assert all(any(c.type == "Ready" and c.status == "False" for c in p.status.conditions) for p in unready)
    wait_for(lambda: victim.metadata.name not in {n.metadata.name for n in core.list_node().items}, 20, "node deleted")
    wait_for(lambda: not (set(p.metadata.name for p in core.list_namespaced_pod(ns).items) & lost), 20, "lost pods garbage-collected")

    asg = sim.aws("autoscaling")
    acts = asg.describe_scaling_activities(AutoScalingGroupName=asg_name)["Activities"]
    assert any(a["Description"] == f"Terminating EC2 instance: {instance_id}" and "health check" in a["Cause"] for a in acts)
    replacement = wait_ready_nodes(core, "loss-group", 2, timeout=30)
    assert victim.metadata.name not in {n.metadata.name for n in replacement}
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"][0]
    assert len(group["Instances"]) == 2 and instance_id not in {i["InstanceId"] for i in group["Instances"]}
    wait_running(core, ns, "svc", 4)
    reasons = [e.reason for e in core.list_namespaced_event("default", field_selector=f"involvedObject.name={victim.metadata.name}").items]
    assert "NodeNotReady" in reasons and "DeletingNode" in reasons
