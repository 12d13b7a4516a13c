"""Load drives the HPA and the HPA drives Cluster Autoscaler, as in the seed: predictions sent to a
TF Serving pod raise its CPU (a CPU cost per request), the HPA (autoscaling/v2, 50% CPU) adds
replicas, the ones that do not fit stay Pending, and Cluster Autoscaler grows the node group.
When the load stops the HPA scales back down."""

from __future__ import annotations

import json
import threading

import requests

from cluster.demo import PREDICT_PATH, serving_deployment
from cluster.manifests import cluster_autoscaler as ca
from cluster.waiting import wait_for
from tests.integration.helpers import namespace, node_group, wait_ready_nodes, wait_running

DISCOVERY_TAG = "k8s.io/cluster-autoscaler/hpa-test"


def _hpa(target: str, max_replicas: int) -> dict:
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": target},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 1, "maxReplicas": max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
        },
    }


def test_load_drives_hpa_and_hpa_drives_the_autoscaler(sim):
    core, apps, _, api_client = sim.kube()
    from kubernetes import client

    hpa_api = client.AutoscalingV2Api(api_client)
    asg_name = node_group(sim, "hpa-group", ("m5.xlarge",), desired=1, labels={"hpa-pool": "serving"})
    sim.aws("autoscaling").create_or_update_tags(Tags=[{"ResourceId": asg_name, "ResourceType": "auto-scaling-group", "Key": DISCOVERY_TAG,
                                                        "Value": "owned", "PropagateAtLaunch": False}])
    wait_ready_nodes(core, "hpa-group", 1)
    ns = namespace(core, "hpa")
    serving = serving_deployment("resnet", 1, {"hpa-pool": "serving"})
    serving["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1500m"
    apps.create_namespaced_deployment(ns, serving)
    pod = wait_running(core, ns, "resnet", 1, timeout=60)[0]
    apps.create_namespaced_deployment(ns, ca.deployment("TensorFlowServingCluster", namespace=ns, flags={"namespace": ns, "scale-down-unneeded-time": "1m", "scale-down-delay-after-add": "1m"},
                                                        discovery_tags=("k8s.io/cluster-autoscaler/enabled", DISCOVERY_TAG)))
    hpa_api.create_namespaced_horizontal_pod_autoscaler(ns, _hpa("resnet", 4))

    url = f"http://{pod.status.pod_ip}:8500{PREDICT_PATH}"
    body = json.dumps({"instances": [[0.0] * 8]})
    stop = threading.Event()

    def load() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                session.post(url, data=body, timeout=5)

    workers = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        # 4 busy workers x 20 ms per request burn ~4 cores of CPU against 1.5 requested: way over 50%
        hpa = wait_for(lambda: (lambda h: h if h.status and (h.status.desired_replicas or 0) >= 4 else None)(hpa_api.read_namespaced_horizontal_pod_autoscaler("resnet", ns)),
                       30, "HPA scaled to 4", describe=lambda: hpa_api.read_namespaced_horizontal_pod_autoscaler("resnet", ns).status)
        # measured over the pods it has by then (scaling spreads the load), and on a busy machine the
        # client sends less: what must hold is that it is over the 50% target that drove the scaling
        assert hpa.status.current_metrics[0].resource.current.average_utilization > 50
        # two 1.5-cpu pods fit an m5.xlarge: the rest wait for nodes that Cluster Autoscaler adds
        wait_for(lambda: len(wait_ready_nodes(core, "hpa-group", 2, timeout=60)) == 2, 60, "Cluster Autoscaler added a node")
        wait_running(core, ns, "resnet", 4, timeout=60)
        reasons = {e.reason for e in core.list_namespaced_event(ns).items}
        assert {"SuccessfulRescale", "TriggeredScaleUp"} <= reasons
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=10)
    # no load: utilization falls to the idle floor and the HPA scales back to its minimum;
    # Cluster Autoscaler then removes the node that is no longer needed
    wait_for(lambda: apps.read_namespaced_deployment("resnet", ns).spec.replicas == 1, 30, "HPA scaled back down")
    wait_for(lambda: sim.aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"][0]["DesiredCapacity"] == 1,
             60, "Cluster Autoscaler scaled the group back down")
    assert "ScaleDown" in {e.reason for e in core.list_namespaced_event("default").items}
    # and its pod's log says so, in klog's lines (kubectl logs)
    (ca_pod,) = [p for p in core.list_namespaced_pod(ns).items if ca.NAME in p.metadata.name and p.status.phase == "Running"]
    ca_log = core.read_namespaced_pod_log(ca_pod.metadata.name, ns)
    assert f"Final scale-up plan: [{{{asg_name} 1->2" in ca_log and f"Scale-up: setting group {asg_name} size to 2" in ca_log, ca_log
    assert "Scale-down: removing node" in ca_log
    apps.delete_namespaced_deployment(ca.NAME, ns)
