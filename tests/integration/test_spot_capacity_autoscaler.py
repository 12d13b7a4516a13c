"""Cluster Autoscaler, configured by its flags: pending pods grow the group the priority expander
prefers (Spot); when FIS makes that group's launches fail with InsufficientInstanceCapacity, the
autoscaler backs it off, shrinks it back, and grows the on-demand group instead."""

from __future__ import annotations

import json

from cluster.manifests import cluster_autoscaler as ca
from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)

DISCOVERY_TAG = "k8s.io/cluster-autoscaler/ice-test"  # this test's groups only (the simulator is shared)


def _group(sim, name, spot):
    asg_name = node_group(sim, name, ("m5.xlarge",), desired=1, spot=spot, labels={"ice-pool": "serving"})
    sim.aws("autoscaling").create_or_update_tags(Tags=[{"ResourceId": asg_name, "ResourceType": "auto-scaling-group", "Key": DISCOVERY_TAG,
                                                        "Value": "owned", "PropagateAtLaunch": False}])
    return asg_name


def _desired(sim, asg_name):
    return sim.aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"][0]["DesiredCapacity"]


def test_ice_on_spot_sends_the_autoscaler_to_on_demand(sim):
    core, apps, _, _ = sim.kube()
    spot_asg, od_asg = _group(sim, "ice-spot", True), _group(sim, "ice-od", False)
    wait_ready_nodes(core, "ice-spot", 1)
    wait_ready_nodes(core, "ice-od", 1)
    ns = namespace(core, "ice")
    app = deployment("model", 2, "unused", cpu="3")
    app["spec"]["template"]["spec"]["nodeSelector"] = {"ice-pool": "serving"}
    apps.create_namespaced_deployment(ns, app)
    wait_running(core, ns, "model", 2)

    fis = sim.aws("fis")
    asg_arn = sim.aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[spot_asg])["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    template = fis.create_experiment_template(
        description="no Spot capacity", roleArn="arn:aws:iam::123456789012:role/fis", stopConditions=[{"source": "none"}],
        targets={"spot-asg": {"resourceType": "aws:ec2:autoscaling-group", "resourceArns": [asg_arn], "selectionMode": "ALL"}},
        actions={"ice": {"actionId": "aws:ec2:asg-insufficient-instance-capacity-error", "targets": {"AutoScalingGroups": "spot-asg"},
                         "parameters": {"availabilityZoneIdentifiers": "us-east-1a,us-east-1b,us-east-1c", "duration": "PT30M", "percentage": "100"}}},
    )["experimentTemplate"]
    exp_id = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]
    wait_for(lambda: fis.get_experiment(id=exp_id)["experiment"]["state"]["status"] == "running", 20, "ICE experiment running")

    core.create_namespaced_config_map(ns, ca.priority_expander_configmap({50: [".*ice-spot.*"], 10: [".*ice-od.*"]}, namespace=ns))
    apps.create_namespaced_deployment(ns, ca.deployment("TensorFlowServingCluster", namespace=ns, flags={"expander": "priority", "namespace": ns},
                                                        discovery_tags=("k8s.io/cluster-autoscaler/enabled", DISCOVERY_TAG)))
    try:
        wait_for(lambda: any(p.status.phase == "Running" for p in core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=aws-cluster-autoscaler").items),
                 30, "cluster autoscaler running")
        apps.patch_namespaced_deployment_scale("model", ns, {"spec": {"replicas": 4}})

        acts = lambda: sim.aws("autoscaling").describe_scaling_activities(AutoScalingGroupName=spot_asg)["Activities"]  # noqa: E731
        wait_for(lambda: any(a["StatusCode"] == "Failed" for a in acts()), 30, "a failed Spot launch (ICE)")
        assert any("sufficient" in a.get("StatusMessage", "") for a in acts() if a["StatusCode"] == "Failed")
        pods = wait_running(core, ns, "model", 4, timeout=60)
        nodes = {n.metadata.name: n for n in core.list_node(label_selector="ice-pool=serving").items}
        on_demand = [p for p in pods if nodes[p.spec.node_name].metadata.labels["eks.amazonaws.com/capacityType"] == "ON_DEMAND"]
        assert len(on_demand) == 3, [(p.spec.node_name, nodes[p.spec.node_name].metadata.labels["eks.amazonaws.com/capacityType"]) for p in pods]
        assert _desired(sim, od_asg) == 3
        assert _desired(sim, spot_asg) == 1  # backed off and shrunk back to what runs
        messages = [e.message for e in core.list_namespaced_event(ns).items if e.reason == "TriggeredScaleUp"]
        assert any("ice-spot" in m for m in messages) and any("ice-od" in m for m in messages)
        assert "cluster_autoscaler_scale_up_failed" in sim.log_path.read_text()
    finally:
        apps.delete_namespaced_deployment(ca.NAME, ns)
        fis.stop_experiment(id=exp_id)


def test_nodes_not_ready_within_max_node_provision_time_back_the_group_off(sim):
    """--max-node-provision-time shorter than the instances' boot: the Spot group's scale-up is
    given up, the group backed off and shrunk back, and the next group is tried."""
    core, apps, _, _ = sim.kube()
    tag = "k8s.io/cluster-autoscaler/provision-time-test"
    groups = {}
    for name, spot in (("pt-spot", True), ("pt-od", False)):
        asg = node_group(sim, name, ("m5.xlarge",), desired=1, spot=spot, labels={"pt-pool": "serving"})
        sim.aws("autoscaling").create_or_update_tags(Tags=[{"ResourceId": asg, "ResourceType": "auto-scaling-group", "Key": tag, "Value": "owned", "PropagateAtLaunch": False}])
        groups[name] = asg
        wait_ready_nodes(core, name, 1)
    ns = namespace(core, "provision-time")
    app = deployment("model", 2, "unused", cpu="3")
    app["spec"]["template"]["spec"]["nodeSelector"] = {"pt-pool": "serving"}
    apps.create_namespaced_deployment(ns, app)
    wait_running(core, ns, "model", 2)
    core.create_namespaced_config_map(ns, ca.priority_expander_configmap({50: [".*pt-spot.*"], 10: [".*pt-od.*"]}, namespace=ns))
    # instances boot in 10 s (+2 s to Ready) here: 5 s is never enough
    apps.create_namespaced_deployment(ns, ca.deployment("TensorFlowServingCluster", namespace=ns, discovery_tags=("k8s.io/cluster-autoscaler/enabled", tag),
                                                        flags={"expander": "priority", "namespace": ns, "max-node-provision-time": "5s", "scale-down-enabled": False}))
    try:
        apps.patch_namespaced_deployment_scale("model", ns, {"spec": {"replicas": 3}})
        def decisions() -> list[tuple[str, str]]:
            out = []
            for line in sim.log_path.read_text().splitlines():
                if line.startswith("{") and '"cluster_autoscaler_scale_up' in line:
                    rec = json.loads(line)
                    if rec["group"] in groups.values():
                        out.append((rec["event"], rec["group"]))
            return out

        expected = [("cluster_autoscaler_scale_up", groups["pt-spot"]), ("cluster_autoscaler_scale_up_failed", groups["pt-spot"]),
                    ("cluster_autoscaler_scale_up", groups["pt-od"])]
        wait_for(lambda: decisions()[:3] == expected, 30, "Spot first, given up after the provision time, then on-demand", describe=decisions)
        wait_for(lambda: _desired(sim, groups["pt-spot"]) == 1, 10, "Spot group shrunk back")
        assert "max-node-provision-time" in sim.log_path.read_text()
    finally:
        apps.delete_namespaced_deployment(ca.NAME, ns)
