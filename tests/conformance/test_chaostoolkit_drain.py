"""chaostoolkit-kubernetes's drain_nodes, a drain built on the kubernetes client as many chaos
tools build theirs, against the simulator: it walks every pod's `spec.volumes` (it crashed on the
null the simulator used to serve), cordons the node and evicts its pods, which the Deployment
reschedules elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_chaostoolkits_drain_cordons_and_evicts(sim: Any) -> None:
    pytest.importorskip("chaosk8s.node.actions")
    core, apps, _, _ = sim.kube()
    node_group(sim, "ctk-drain", ("m5.large",), desired=2)
    nodes = wait_ready_nodes(core, "ctk-drain", 2, 60)
    ns = namespace(core, "ctk-drain")
    apps.create_namespaced_deployment(ns, deployment("web", 2, "ctk-drain", cpu="100m"))
    pods = wait_running(core, ns, "web", 2, 60)
    victim = pods[0].spec.node_name
    # as a user runs it: its own process, the cluster from KUBECONFIG
    code = f"from chaosk8s.node.actions import drain_nodes; print(drain_nodes(name={victim!r}, timeout=60))"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "KUBECONFIG": sim.endpoints.kubeconfig}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert victim in done.stdout and core.read_node(victim).spec.unschedulable
    other = next(n.metadata.name for n in nodes if n.metadata.name != victim)
    wait_for(lambda: all(p.spec.node_name == other for p in wait_running(core, ns, "web", 2, 30)), 60, "the pods rescheduled off the drained node")
