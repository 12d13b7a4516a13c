"""`spec.unschedulable` on nodes as the API server selects it: a node never cordoned has the
field unset, which the server reads as false (the typed bool's zero), so `=false` finds it and
`=true` finds only cordoned ones.  Through kubectl and the Python client."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.integration.helpers import node_group, wait_ready_nodes

pytestmark = pytest.mark.integration


def test_spec_unschedulable_false_finds_nodes_never_cordoned(sim: Any) -> None:
    core = sim.kube()[0]
    node_group(sim, "unschedulable-selector", ("m5.large",), desired=2)
    first, second = sorted(n.metadata.name for n in wait_ready_nodes(core, "unschedulable-selector", 2, 60))
    core.patch_node(first, {"spec": {"unschedulable": True}})

    def names(selector: str) -> set[str]:
        return {n.metadata.name for n in core.list_node(field_selector=selector, label_selector="nodegroup-under-test=unschedulable-selector").items}

    assert names("spec.unschedulable=false") == {second}
    assert names("spec.unschedulable=true") == {first}
    assert names("spec.unschedulable!=true") == {second}
    out = subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "get", "nodes", "--field-selector", "spec.unschedulable=false",
                          "-l", "nodegroup-under-test=unschedulable-selector", "-o", "name"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.split() == [f"node/{second}"], out.stdout + out.stderr
