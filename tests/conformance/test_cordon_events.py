"""A cordon as the kubelet reports it: `kubectl cordon` makes the node's kubelet record
NodeNotSchedulable at its next status update, and `kubectl uncordon` NodeSchedulable, with the
kubelet's message (`describe node` shows them)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from cluster.waiting import wait_for
from tests.integration.helpers import node_group, wait_ready_nodes

pytestmark = pytest.mark.integration


def _kubectl(sim: Any, *args: str) -> str:
    out = subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_cordon_and_uncordon_are_recorded_by_the_kubelet(sim: Any) -> None:
    core = sim.kube()[0]
    node_group(sim, "cordon-events", ("m5.large",), desired=1)
    name = wait_ready_nodes(core, "cordon-events", 1, 60)[0].metadata.name

    def reasons() -> list[tuple[str, str, str]]:
        found = core.list_namespaced_event("default", field_selector=f"involvedObject.name={name},involvedObject.kind=Node").items
        return [(e.reason, e.source.component, e.message) for e in found]

    _kubectl(sim, "cordon", name)
    wait_for(lambda: ("NodeNotSchedulable", "kubelet", f"Node {name} status is now: NodeNotSchedulable") in reasons(), 30,
             "the kubelet's NodeNotSchedulable", describe=reasons)
    _kubectl(sim, "uncordon", name)
    wait_for(lambda: ("NodeSchedulable", "kubelet", f"Node {name} status is now: NodeSchedulable") in reasons(), 30, "the kubelet's NodeSchedulable",
             describe=reasons)
    assert "NodeNotSchedulable" in _kubectl(sim, "describe", "node", name)
