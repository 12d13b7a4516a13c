"""NTH's own end-to-end tests, replayed on the simulator with their assertions as they are written
upstream (aws/aws-node-termination-handler test/e2e at v1.25.6: spot-interruption-test,
spot-interruption-test-events-on, cordon-only-test, spot-interruption-dry-run-test).  Each
installs NTH in IMDS mode with the test's chart settings, runs `regular-pod-test` (one replica)
on the worker node, sends the Spot notice (upstream: amazon-ec2-metadata-mock; here the
simulator's metadata, never reclaimed, as the mock never reclaims) and asserts through kubectl:
cordoned (SchedulingDisabled), tainted, the pod evicted or not, the out-of-service taint, the
Kubernetes events and their annotations, the dry-run log line."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from cluster.manifests.nth import imds_daemonset
from cluster.waiting import wait_for
from tests.integration.helpers import deployment, namespace, node_group, wait_ready_nodes
from tests.integration.spot_helpers import control, instance_of, nth_running

pytestmark = pytest.mark.integration

EXTRA_ANNOTATION = "spot.itn.events/test=extra-annotation"
SCENARIOS = {  # the chart values each upstream test sets, as NTH's env vars
    "spot-interruption-test": {"ENABLE_SCHEDULED_EVENT_DRAINING": False, "ENABLE_SPOT_INTERRUPTION_DRAINING": True, "TAINT_NODE": True,
                               "ENABLE_OUT_OF_SERVICE_TAINT": True},
    "spot-interruption-test-events-on": {"ENABLE_SCHEDULED_EVENT_DRAINING": False, "ENABLE_SPOT_INTERRUPTION_DRAINING": True, "TAINT_NODE": True,
                                         "EMIT_KUBERNETES_EVENTS": True, "KUBERNETES_EVENTS_EXTRA_ANNOTATIONS": EXTRA_ANNOTATION},
    "cordon-only-test": {"ENABLE_SPOT_INTERRUPTION_DRAINING": True, "CORDON_ONLY": True},
    "spot-interruption-dry-run-test": {"ENABLE_SPOT_INTERRUPTION_DRAINING": True, "DRY_RUN": True},
}
METADATA_ANNOTATIONS = ("account-id", "availability-zone", "instance-id", "instance-life-cycle", "instance-type", "local-hostname", "local-ipv4",
                        "public-hostname", "public-ipv4", "region")


def _kubectl(sim: Any, *args: str) -> str:
    out = subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (args, out.stderr)
    return out.stdout


def _unavailable(sim: Any, ns: str) -> int:
    value = _kubectl(sim, "get", "deployments", "regular-pod-test", "-n", ns, "-o", "jsonpath={.status.unavailableReplicas}")
    return int(value or 0)  # as the scripts' `-eq 0`: an absent field reads 0


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_nth_upstream_e2e(sim: Any, scenario: str) -> None:
    core, apps, _, _ = sim.kube()
    group = f"nth-e2e-{list(SCENARIOS).index(scenario)}"
    node_group(sim, group, ("m5.large",), desired=1)
    node = wait_ready_nodes(core, group, 1)[0].metadata.name
    ns = namespace(core, group)
    apps.create_namespaced_daemon_set(ns, imds_daemonset(SCENARIOS[scenario], namespace=ns, node_selector={"nodegroup-under-test": group}))
    nth_running(core, ns, 1)
    apps.create_namespaced_deployment(ns, deployment("regular-pod-test", 1, group, cpu="100m"))
    wait_for(lambda: _kubectl(sim, "get", "deployments", "regular-pod-test", "-n", ns, "-o", "jsonpath={.status.availableReplicas}") == "1", 30,
             "regular-pod-test scheduled and started")
    assert _unavailable(sim, ns) == 0
    assert control(sim, f"/v1/instances/{instance_of(core.read_node(node))}/spot-interruption", {"reclaim": False})[0] == 201

    def node_json() -> str:
        return _kubectl(sim, "get", "nodes", node, "-o", "json")

    if scenario == "spot-interruption-dry-run-test":
        pod = core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=aws-node-termination-handler").items[0].metadata.name
        wait_for(lambda: "would have been cordoned and drained" in _kubectl(sim, "logs", pod, "-n", ns).lower(), 30, "NTH's dry-run log line")
        assert "SchedulingDisabled" not in _kubectl(sim, "get", "nodes", node, "--no-headers")
        assert _unavailable(sim, ns) == 0
        return
    wait_for(lambda: "SchedulingDisabled" in _kubectl(sim, "get", "nodes", node), 30, "the worker node cordoned")
    if scenario == "cordon-only-test":
        assert _unavailable(sim, ns) == 0  # cordoned only: the pod stays
        return
    wait_for(lambda: "aws-node-termination-handler/spot-itn" in node_json(), 30, "the worker node tainted")
    wait_for(lambda: _unavailable(sim, ns) == 1, 30, "regular-pod-test evicted (nowhere else to go)")
    if scenario == "spot-interruption-test":
        wait_for(lambda: "node.kubernetes.io/out-of-service" in node_json(), 30, "the worker node tainted out-of-service")
        taint = next(t for t in json.loads(node_json())["spec"]["taints"] if t["key"] == "node.kubernetes.io/out-of-service")
        assert (taint["value"], taint["effect"]) == ("nodeshutdown", "NoExecute")
        return

    def events() -> dict[str, dict[str, Any]]:
        items = json.loads(_kubectl(sim, "get", "events", "-n", "default", "--field-selector", "source=aws-node-termination-handler", "-o", "json"))["items"]
        return {e["reason"]: e for e in items if e["involvedObject"]["name"] == node}

    found = wait_for(lambda: (lambda e: e if {"SpotInterruption", "PreDrain", "CordonAndDrain"} <= set(e) else None)(events()), 30, "NTH's events")
    for reason in ("SpotInterruption", "PreDrain", "CordonAndDrain"):
        annotations = found[reason]["metadata"]["annotations"]
        assert all(a in annotations for a in METADATA_ANNOTATIONS), (reason, annotations)
        assert annotations["spot.itn.events/test"] == "extra-annotation"
        assert annotations["instance-life-cycle"] == "spot"
