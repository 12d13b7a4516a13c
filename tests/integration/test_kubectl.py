"""kubectl (the machine image's, or Debian's kubernetes-client) works unchanged against the simulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (.ci/run installs it)")


def kubectl(sim, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": sim.endpoints.kubeconfig}
    res = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60)
    if check and res.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {res.stderr}")
    return res


def test_get_cordon_drain_and_events(sim):
    core, apps, _, _ = sim.kube()
    node_group(sim, "kubectl-group", ("m5.2xlarge", "m5a.2xlarge"), desired=2)
    nodes = wait_ready_nodes(core, "kubectl-group", 2)
    ns = namespace(core, "kubectl")
    apps.create_namespaced_deployment(ns, deployment("drained", 4, "kubectl-group"))
    apps.create_namespaced_daemon_set(ns, {
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
            "nodeSelector": {"nodegroup-under-test": "kubectl-group"}, "containers": [{"name": "a", "image": "busybox"}]}}},
    })
    wait_running(core, ns, "drained", 4)
    wait_running(core, ns, "agent", 2)

    table = kubectl(sim, "get", "nodes", "-l", "nodegroup-under-test=kubectl-group").stdout
    assert table.splitlines()[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert table.count(" Ready ") == 2

    victim = nodes[0].metadata.name
    kubectl(sim, "cordon", victim)
    assert core.read_node(victim).spec.unschedulable is True
    assert "Ready,SchedulingDisabled" in kubectl(sim, "get", "node", victim).stdout

    res = kubectl(sim, "drain", victim, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s")
    assert "drained" in res.stdout
    left = core.list_namespaced_pod(ns, field_selector=f"spec.nodeName={victim}").items
    assert left and all(p.metadata.labels.get("app") == "agent" for p in left), "only the DaemonSet pod stays"
    wait_running(core, ns, "drained", 4)
    assert all(p.spec.node_name != victim for p in core.list_namespaced_pod(ns, label_selector="app=drained").items)

    events = kubectl(sim, "get", "events", "-n", ns, "--sort-by=.lastTimestamp").stdout
    assert "Killing" in events and "Scheduled" in events
    kubectl(sim, "uncordon", victim)
    assert not core.read_node(victim).spec.unschedulable

    out = json.loads(kubectl(sim, "get", "pods", "-n", ns, "-o", "json").stdout)
    assert len(out["items"]) == 6


def test_taint_and_label_commands(sim):
    core, *_ = sim.kube()
    node_group(sim, "kubectl-taint", ("m5.xlarge",), desired=1)
    node = wait_ready_nodes(core, "kubectl-taint", 1)[0].metadata.name
    kubectl(sim, "taint", "nodes", node, "aws-node-termination-handler/spot-itn=evt-1:NoSchedule")
    kubectl(sim, "label", "nodes", node, "node.kubernetes.io/exclude-from-external-load-balancers=aws-node-termination-handler")
    n = core.read_node(node)
    assert any(t.key == "aws-node-termination-handler/spot-itn" and t.value == "evt-1" and t.effect == "NoSchedule" for t in n.spec.taints)
    assert n.metadata.labels["node.kubernetes.io/exclude-from-external-load-balancers"] == "aws-node-termination-handler"
    kubectl(sim, "taint", "nodes", node, "aws-node-termination-handler/spot-itn-")
    wait_for(lambda: not any(t.key == "aws-node-termination-handler/spot-itn" for t in core.read_node(node).spec.taints or []), 5, "taint removed")
