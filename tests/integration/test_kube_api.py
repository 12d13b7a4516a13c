"""The official Kubernetes Python client against the simulated API server: CRUD, patches,
selectors, watches (bookmarks, 410 Gone), eviction with budgets, and Status error bodies."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)


@pytest.fixture(scope="session")  # once per worker: xdist may hand this module's tests to a worker twice over
def apps_group(sim):
    core, *_ = sim.kube()
    node_group(sim, "api-tests", ("m5.xlarge", "m5a.xlarge"), desired=3)
    wait_ready_nodes(core, "api-tests", 3)
    return "api-tests"


def test_deployment_pods_are_scheduled_started_and_listed_with_selectors(sim, apps_group):
    core, apps, _, _ = sim.kube()
    ns = namespace(core, "crud")
    apps.create_namespaced_deployment(ns, deployment("web", 5, apps_group))
    pods = wait_running(core, ns, "web", 5)
    nodes = {p.spec.node_name for p in pods}
    assert len(nodes) == 3, "the scheduler spreads replicas of one owner"
    assert all(p.status.pod_ip.startswith("127.") for p in pods)
    one = pods[0].spec.node_name
    on_node = core.list_namespaced_pod(ns, field_selector=f"spec.nodeName={one}").items
    assert {p.metadata.name for p in on_node} == {p.metadata.name for p in pods if p.spec.node_name == one}
    assert core.list_namespaced_pod(ns, label_selector="app in (web),app!=other").items
    assert not core.list_namespaced_pod(ns, label_selector="app notin (web)").items
    dep = wait_for(lambda: (lambda d: d if d.status.ready_replicas == 5 else None)(apps.read_namespaced_deployment(name="web", namespace=ns)), 10, "deployment status")
    assert dep.status.observed_generation == 1
    # scale down through the scale subresource: the newest/unready pods go first
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 2}})
    wait_for(lambda: len(core.list_namespaced_pod(ns, label_selector="app=web").items) == 2, 20, "scale down to 2")


def test_patches_merge_strategic_and_json(sim, apps_group):
    core, *_ = sim.kube()
    node = wait_ready_nodes(core, apps_group, 3)[0].metadata.name
    core.patch_node(node, {"metadata": {"labels": {"patched": "merge"}}})  # client sends strategic-merge for dicts
    core.patch_node(node, [{"op": "add", "path": "/metadata/annotations/json-patched", "value": "yes"}])
    n = core.read_node(node)
    assert n.metadata.labels["patched"] == "merge" and n.metadata.annotations["json-patched"] == "yes"
    assert n.metadata.labels["nodegroup-under-test"] == apps_group, "a merge keeps the other labels"
    # conditions merge by type in a strategic-merge patch
    before = {c.type for c in n.status.conditions}
    core.patch_node_status(node, {"status": {"conditions": [{"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"}]}})
    after = {c.type for c in core.read_node_status(node).status.conditions}
    assert after == before | {"NetworkUnavailable"}
    core.patch_node(node, {"metadata": {"labels": {"patched": None}}})
    assert "patched" not in core.read_node(node).metadata.labels


def test_new_workloads_carry_the_status_the_real_server_gives_them(sim):
    """Before its controller writes one, a new object has a status whose required fields are zeros,
    as the real API server serializes them: clients that read status right after a create (the
    official client's models require some of these fields) must not find it missing."""
    core, apps, _, _ = sim.kube()
    ns = namespace(core, "initial-status")
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"nodeSelector": {"no-such-node": "true"}, "containers": [{"name": "c", "image": "busybox"}]}}
    spec = {"selector": {"matchLabels": {"app": "x"}}, "template": template}
    created = {
        "Deployment": apps.create_namespaced_deployment(ns, {"metadata": {"name": "d"}, "spec": {**spec, "replicas": 0}}, _preload_content=False),
        "ReplicaSet": apps.create_namespaced_replica_set(ns, {"metadata": {"name": "r"}, "spec": {**spec, "replicas": 0}}, _preload_content=False),
        "DaemonSet": apps.create_namespaced_daemon_set(ns, {"metadata": {"name": "ds"}, "spec": spec}, _preload_content=False),
    }
    status = {kind: json.loads(resp.data)["status"] for kind, resp in created.items()}
    assert status == {"Deployment": {}, "ReplicaSet": {"replicas": 0},
                      "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}}
    assert apps.read_namespaced_daemon_set("ds", ns).status.number_ready == 0  # the model's required fields are there


def test_update_with_stale_resource_version_conflicts(sim):
    core, *_ = sim.kube()
    cm = core.create_namespaced_config_map("default", {"metadata": {"name": "conflict"}, "data": {"a": "1"}})
    cm.data = {"a": "2"}
    core.replace_namespaced_config_map("conflict", "default", cm)
    cm.data = {"a": "3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("conflict", "default", cm)
    assert err.value.status == 409
    assert json.loads(err.value.body)["reason"] == "Conflict"


def test_watch_resumes_from_resource_version_and_sends_bookmarks(sim):
    core, *_ = sim.kube()
    ns = namespace(core, "watching")
    # every namespace gets its kube-root-ca.crt ConfigMap from the root CA publisher: let it come first
    wait_for(lambda: [c for c in core.list_namespaced_config_map(ns).items if c.metadata.name == "kube-root-ca.crt"], 20,
             "the namespace's root CA ConfigMap")
    start_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    for i in range(3):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm{i}"}})
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=start_rv, timeout_seconds=1):
        seen.append((event["type"], event["object"].metadata.name))
    assert seen == [("ADDED", "cm0"), ("ADDED", "cm1"), ("ADDED", "cm2")]

    url = f"{sim.endpoints.kube_api_url}/api/v1/namespaces/{ns}/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion={start_rv}"
    lines = [json.loads(line) for line in requests.get(url, stream=True, timeout=10).iter_lines() if line]
    assert [e["type"] for e in lines[:3]] == ["ADDED"] * 3
    assert any(e["type"] == "BOOKMARK" and int(e["object"]["metadata"]["resourceVersion"]) >= int(start_rv) for e in lines)


def test_too_old_resource_version_gets_410_gone(sim):
    core, *_ = sim.kube()
    ns = namespace(core, "expired")
    old_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    for i in range(520):  # the test simulator keeps 500 events of history
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"filler{i}"}})
    url = f"{sim.endpoints.kube_api_url}/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={old_rv}"
    first = json.loads(next(requests.get(url, stream=True, timeout=10).iter_lines()))
    assert first["type"] == "ERROR" and first["object"]["code"] == 410 and first["object"]["reason"] == "Expired"


def test_watch_delivers_live_pod_events(sim, apps_group):
    core, apps, _, _ = sim.kube()
    ns = namespace(core, "livewatch")
    phases: list[str] = []
    w = watch.Watch()

    def consume() -> None:
        for event in w.stream(core.list_namespaced_pod, ns, timeout_seconds=15):
            phases.append(f"{event['type']}:{event['object'].status.phase}")
            if event["object"].status.phase == "Running":
                w.stop()

    t = threading.Thread(target=consume)
    t.start()
    apps.create_namespaced_deployment(ns, deployment("one", 1, apps_group))
    t.join(timeout=20)
    assert phases[0] == "ADDED:Pending" and phases[-1] == "MODIFIED:Running"


def test_eviction_honours_pod_disruption_budget_with_the_real_429_body(sim, apps_group):
    core, apps, policy, _ = sim.kube()
    ns = namespace(core, "evict")
    apps.create_namespaced_deployment(ns, deployment("guarded", 2, apps_group, prestop_sleep=20))
    pods = wait_running(core, ns, "guarded", 2)
    policy.create_namespaced_pod_disruption_budget(ns, {"metadata": {"name": "guarded"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "guarded"}}}})
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pods[0].metadata.name, "namespace": ns}}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_eviction(pods[0].metadata.name, ns, body)
    status = json.loads(err.value.body)
    assert err.value.status == 429
    assert status["reason"] == "TooManyRequests"
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"][0]["reason"] == "DisruptionBudget"
    # relax the budget: the eviction goes through and the pod terminates gracefully
    policy.patch_namespaced_pod_disruption_budget("guarded", ns, {"spec": {"minAvailable": 1}})
    wait_for(lambda: policy.read_namespaced_pod_disruption_budget("guarded", ns).status.disruptions_allowed == 1, 10, "the budget to allow one disruption")
    core.create_namespaced_pod_eviction(pods[0].metadata.name, ns, body)
    evicted = core.read_namespaced_pod(pods[0].metadata.name, ns)
    assert evicted.metadata.deletion_timestamp is not None and evicted.metadata.deletion_grace_period_seconds == 30
    with pytest.raises(ApiException) as again:
        core.create_namespaced_pod_eviction(pods[1].metadata.name, ns, {**body, "metadata": {"name": pods[1].metadata.name, "namespace": ns}})
    assert again.value.status == 429, "one disruption was used; the second eviction must wait"
    wait_for(lambda: pods[0].metadata.name not in {p.metadata.name for p in core.list_namespaced_pod(ns).items}, 10, "the evicted pod to finish its preStop and go")


def test_bad_requests_get_status_bodies_naming_the_field(sim):
    core, apps, _, api_client = sim.kube()
    base = sim.endpoints.kube_api_url
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("default", {"metadata": {"name": "Bad_Name"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    assert err.value.status == 422 and "metadata.name" in json.loads(err.value.body)["details"]["causes"][0]["field"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("default", {"metadata": {"name": "nocontainers"}, "spec": {"containers": []}})
    assert json.loads(err.value.body)["details"]["causes"][0]["field"] == "spec.containers"
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("default", {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "c"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    assert "spec.template.metadata.labels" in err.value.body.decode() if isinstance(err.value.body, bytes) else "spec.template.metadata.labels" in err.value.body
    r = requests.post(f"{base}/api/v1/namespaces/default/configmaps", data=b"{not json", headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 400 and r.json()["kind"] == "Status" and r.json()["reason"] == "BadRequest"
    r = requests.get(f"{base}/api/v1/namespaces/default/widgets", timeout=5)
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"
    r = requests.get(f"{base}/api/v1/namespaces/default/pods/nope", timeout=5)
    assert r.status_code == 404 and r.json()["message"] == 'pods "nope" not found'
    r = requests.patch(f"{base}/api/v1/nodes/none", data=b"{}", headers={"Content-Type": "text/plain"}, timeout=5)
    assert r.status_code in (404, 415)
    r = requests.post(f"{base}/api/v1/namespaces/nowhere/configmaps", json={"metadata": {"name": "x"}}, timeout=5)
    assert r.status_code == 404 and 'namespaces "nowhere" not found' in r.json()["message"]
    assert requests.get(f"{base}/healthz", timeout=5).text == "ok", "the simulator never dies on a bad request"


def test_discovery_and_version(sim):
    _, _, _, api_client = sim.kube()
    version = client.VersionApi(api_client).get_code()
    assert version.major == "1" and version.git_version.startswith("v1.31")
    groups = {g.name for g in client.ApisApi(api_client).get_api_versions().groups}
    assert {"apps", "policy", "autoscaling", "networking.k8s.io", "discovery.k8s.io"} <= groups
    core_resources = {r.name for r in client.CoreV1Api(api_client).get_api_resources().resources}
    assert {"pods", "pods/eviction", "pods/status", "pods/binding", "nodes", "events", "services", "endpoints"} <= core_resources


def test_clock_speed_is_discoverable_from_the_cluster(sim):
    core, *_ = sim.kube()
    info = core.read_namespaced_config_map("spotchaos-sim", "kube-system")
    assert float(info.data["clockSpeed"]) == sim.endpoints.clock_speed == 20.0
