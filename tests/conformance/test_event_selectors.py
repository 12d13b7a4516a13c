"""Events as clients find them: the field selectors the API server supports on Events (and on
pods), a 400 "field label not supported" for any other, and NTH's Events carrying the node
metadata annotations NTH adds (plus KUBERNETES_EVENTS_EXTRA_ANNOTATIONS).  Through the
Kubernetes client and kubectl."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from cluster.manifests.nth import imds_daemonset
from cluster.waiting import wait_for
from tests.integration.helpers import namespace, node_group, wait_ready_nodes
from tests.integration.spot_helpers import control, instance_of, nth_running

pytestmark = pytest.mark.integration


def _event(name: str, source: str, reason: str, type_: str, node: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "involvedObject": {"kind": "Node", "name": node, "apiVersion": "v1"}, "reason": reason, "type": type_,
            "message": reason, "source": {"component": source, "host": node}, "reportingComponent": source}


def test_field_selectors_on_events_and_pods_as_the_api_server_supports_them(sim: Any) -> None:
    core = sim.kube()[0]
    ns = namespace(core, "event-selectors")
    core.create_namespaced_event(ns, _event("a", "aws-node-termination-handler", "Cordon", "Normal", "n1"))
    core.create_namespaced_event(ns, _event("b", "cluster-autoscaler", "TriggeredScaleUp", "Normal", "n2"))
    core.create_namespaced_event(ns, _event("c", "aws-node-termination-handler", "CordonAndDrainError", "Warning", "n2"))

    def names(selector: str) -> list[str]:
        return sorted(e.metadata.name for e in core.list_namespaced_event(ns, field_selector=selector).items)

    assert names("source=aws-node-termination-handler") == ["a", "c"]
    assert names("source!=aws-node-termination-handler") == ["b"]
    assert names("type=Warning") == ["c"]
    assert names("reason=Cordon,involvedObject.kind=Node") == ["a"]
    assert names("involvedObject.name=n2,reportingComponent=cluster-autoscaler") == ["b"]
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_event(ns, field_selector="source.component=aws-node-termination-handler")
    assert refused.value.status == 400 and "field label not supported: source.component" in refused.value.body
    assert core.list_pod_for_all_namespaces(field_selector="spec.nodeName=no-such-node").items == []
    with pytest.raises(ApiException) as refused:
        core.list_pod_for_all_namespaces(field_selector="spec.containers=x")
    assert refused.value.status == 400
    if shutil.which("kubectl"):
        out = subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "get", "events", "-n", ns, "--field-selector",
                              "source=aws-node-termination-handler", "-o", "name"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and sorted(out.stdout.split()) == ["event/a", "event/c"], out.stdout + out.stderr


def test_nths_events_carry_the_node_metadata_and_the_extra_annotations(sim: Any) -> None:
    core, apps, _, _ = sim.kube()
    node_group(sim, "nth-annotations", ("m5.large",), desired=1)
    (node,) = wait_ready_nodes(core, "nth-annotations", 1, 60)
    ns = namespace(core, "nth-annotations")
    settings = {"EMIT_KUBERNETES_EVENTS": True, "KUBERNETES_EVENTS_EXTRA_ANNOTATIONS": "team=ml-serving,cost-center=42"}
    apps.create_namespaced_daemon_set(ns, imds_daemonset(settings, namespace=ns, node_selector={"nodegroup-under-test": "nth-annotations"}))
    nth_running(core, ns, 1)
    iid = instance_of(node)
    assert control(sim, f"/v1/instances/{iid}/spot-interruption", {})[0] == 201
    selector = f"source=aws-node-termination-handler,involvedObject.name={node.metadata.name}"
    (event, *_) = wait_for(lambda: core.list_namespaced_event("default", field_selector=selector).items, 30, "NTH's event about the node")
    annotations = event.metadata.annotations
    assert annotations["instance-id"] == iid and annotations["local-hostname"] == node.metadata.name
    assert annotations["instance-life-cycle"] == "spot"  # NTH sets it since v1.13 (pkg/observability/k8s-events.go)
    assert annotations["availability-zone"] == node.metadata.labels["topology.kubernetes.io/zone"]
    assert annotations["region"] == node.metadata.labels["topology.kubernetes.io/region"] and annotations["account-id"]
    assert annotations["team"] == "ml-serving" and annotations["cost-center"] == "42"
