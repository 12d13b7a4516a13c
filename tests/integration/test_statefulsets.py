"""StatefulSets as kube-controller-manager runs them, driven with kubectl and the Python client:
pods `<set>-<ordinal>` made one at a time in order, a deleted pod back under its own name, scale
down from the highest ordinal, a rolling update from the highest ordinal with `kubectl rollout
status` following it, and a PDB over the set's pods counting its replicas."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from cluster.waiting import wait_for
from tests.integration.helpers import deployment, namespace, node_group, wait_ready_nodes
from tests.integration.test_kubectl import kubectl

pytestmark = pytest.mark.integration

GROUP = "statefulsets"


def _set(name: str, replicas: int) -> dict[str, Any]:
    template = deployment(name, replicas, GROUP, cpu="100m")["spec"]["template"]
    c = template["spec"]["containers"][0]
    c["image"] = "registry.example.com/db/mysql:8.0"
    c["ports"] = [{"containerPort": 3306, "name": "mysql"}]
    c["readinessProbe"] = {"tcpSocket": {"port": 3306}, "periodSeconds": 2}
    template["metadata"]["annotations"] = {"sim.spotchaos.io/start-seconds": "3"}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}}, "template": template,
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}


def _pods(core: Any, ns: str, name: str) -> dict[str, Any]:
    return {p.metadata.name: p for p in core.list_namespaced_pod(ns, label_selector=f"app={name}").items}


def _ready(pod: Any) -> bool:
    return pod.status.phase == "Running" and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def test_a_statefulset_runs_its_pods_in_order_and_keeps_their_names(sim: Any) -> None:
    core, _, _, api_client = sim.kube()
    apps = client.AppsV1Api(api_client)
    policy = client.PolicyV1Api(api_client)
    node_group(sim, GROUP, ("m5.2xlarge",), 2)
    wait_ready_nodes(core, GROUP, 2, 60)
    ns = namespace(core, "sts")
    apps.create_namespaced_stateful_set(ns, _set("db", 3))

    # OrderedReady: db-1 is not made before db-0 is Ready, db-2 not before db-1
    seen: list[dict[str, bool]] = []

    def progress() -> bool:
        pods = _pods(core, ns, "db")
        seen.append({n: _ready(p) for n, p in pods.items()})
        return len(pods) == 3 and all(_ready(p) for p in pods.values())
    wait_for(progress, 90, "db-0, db-1 and db-2 Ready")
    pods = _pods(core, ns, "db")
    assert sorted(pods) == ["db-0", "db-1", "db-2"]
    created = [pods[n].metadata.creation_timestamp for n in ("db-0", "db-1", "db-2")]
    assert created == sorted(created) and created[0] < created[2]
    out_of_order = [s for s in seen for k in (1, 2) if f"db-{k}" in s and not s.get(f"db-{k - 1}")]
    assert not out_of_order and len(seen) > 3, seen
    assert pods["db-1"].spec.hostname == "db-1" and pods["db-1"].spec.subdomain == "db"
    assert pods["db-2"].metadata.labels["statefulset.kubernetes.io/pod-name"] == "db-2"
    assert pods["db-2"].metadata.labels["apps.kubernetes.io/pod-index"] == "2"
    listed = kubectl(sim, "get", "statefulset", "db", "-n", ns).stdout
    assert listed.split("\n")[1].split()[:2] == ["db", "3/3"], listed

    # a PDB over the set's pods counts its three replicas: one may go
    policy.create_namespaced_pod_disruption_budget(ns, {"metadata": {"name": "db"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "db"}}}})
    wait_for(lambda: (policy.read_namespaced_pod_disruption_budget("db", ns).status.expected_pods == 3) or None, 30, "the PDB to count 3 pods")

    # a deleted pod comes back under its own name
    old_uid = pods["db-1"].metadata.uid
    core.delete_namespaced_pod("db-1", ns)
    wait_for(lambda: (lambda p: p is not None and p.metadata.uid != old_uid and _ready(p))(_pods(core, ns, "db").get("db-1")), 60, "db-1 back and Ready")

    # a new template rolls from the highest ordinal; kubectl rollout status follows it to the end
    apps.patch_namespaced_stateful_set("db", ns, {"spec": {"template": {"metadata": {"annotations": {"release": "2"}}}}})
    done = kubectl(sim, "rollout", "status", "statefulset/db", "-n", ns, "--timeout=90s")
    assert "partitioned roll out complete" in done.stdout or "rolling update complete" in done.stdout, done.stdout
    pods = _pods(core, ns, "db")
    assert {p.metadata.annotations.get("release") for p in pods.values()} == {"2"}
    assert pods["db-2"].metadata.creation_timestamp <= pods["db-0"].metadata.creation_timestamp
    status = apps.read_namespaced_stateful_set("db", ns).status
    assert status.current_revision == status.update_revision and status.updated_replicas == 3

    # scale down: the highest ordinals go
    kubectl(sim, "scale", "statefulset/db", "--replicas=1", "-n", ns)
    wait_for(lambda: sorted(n for n, p in _pods(core, ns, "db").items() if not p.metadata.deletion_timestamp) == ["db-0"] or None, 60, "only db-0 left")
