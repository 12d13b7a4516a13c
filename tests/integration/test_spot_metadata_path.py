"""The metadata-mock injection path: a notice on one instance's metadata, read over HTTP by NTH in
IMDS mode (a DaemonSet configured by env vars), which taints, labels, cordons and drains the node
before the instance is reclaimed; the ASG replaces it.  Also what happens with CORDON_ONLY and
with no NTH at all."""

from __future__ import annotations

import json
import urllib.request

import pytest

from chaos.kube.watches import node_record
from cluster.manifests.nth import imds_daemonset
from cluster.sim.clock import parse_time
from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)
from tests.integration.spot_helpers import (
    control,
    instance_of,
    node_events,
    nth_running,
    pods_on,
    wait_instance_state,
)

NTH_SETTINGS = {"ENABLE_SPOT_INTERRUPTION_DRAINING": True, "TAINT_NODE": True, "EMIT_KUBERNETES_EVENTS": True}


def _imds(url: str, path: str, token: str | None = None, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url + path, method=method, headers={**({"X-aws-ec2-metadata-token": token} if token else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_metadata_serves_imdsv1_v2_and_the_notice(sim):
    core, _, _, _ = sim.kube()
    node_group(sim, "imds-group", ("m5.xlarge",), desired=1)
    node = wait_ready_nodes(core, "imds-group", 1)[0]
    iid = instance_of(node)
    status, listing = control(sim, "/v1/instances")
    assert status == 200
    url = next(i["metadata_url"] for i in listing["instances"] if i["instance_id"] == iid)

    assert _imds(url, "/latest/meta-data/instance-id") == (200, iid)
    assert _imds(url, "/latest/meta-data/instance-life-cycle") == (200, "spot")
    assert _imds(url, "/latest/meta-data/placement/availability-zone")[1] == node.metadata.labels["topology.kubernetes.io/zone"]
    assert _imds(url, "/latest/meta-data/local-hostname") == (200, node.metadata.name)
    assert _imds(url, "/latest/meta-data/spot/instance-action")[0] == 404
    assert _imds(url, "/latest/meta-data/events/maintenance/scheduled") == (200, "[]")
    # IMDSv2: a token needs a TTL in range; a wrong token is refused; with HttpTokens=required v1 is refused
    assert _imds(url, "/latest/api/token", method="PUT")[0] == 400
    assert _imds(url, "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "21601"})[0] == 400
    status, token = _imds(url, "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    assert status == 200 and token
    assert _imds(url, "/latest/meta-data/instance-id", token="not-a-token")[0] == 401
    sim.aws("ec2").modify_instance_metadata_options(InstanceId=iid, HttpTokens="required")
    assert _imds(url, "/latest/meta-data/instance-id")[0] == 401
    assert _imds(url, "/latest/meta-data/instance-id", token=token) == (200, iid)

    status, plan = control(sim, f"/v1/instances/{iid}/spot-interruption", {"reclaim": False})
    assert status == 201 and plan["reclaim"] is False
    status, body = _imds(url, "/latest/meta-data/spot/instance-action", token=token)
    assert status == 200
    action = json.loads(body)
    assert action["action"] == "terminate" and action["time"] == plan["interruption_time"]
    # the time is fixed once given (EC2), not recomputed per request (amazon-ec2-metadata-mock)
    assert json.loads(_imds(url, "/latest/meta-data/spot/instance-action", token=token)[1])["time"] == action["time"]
    assert _imds(url, "/latest/meta-data/spot/termination-time", token=token) == (200, action["time"])
    # bad input to the control API names the field
    status, err = control(sim, f"/v1/instances/{iid}/spot-interruption", {"seconds_before_interruption": 30})
    assert status == 400 and "seconds_before_interruption" in err["error"]
    status, err = control(sim, "/v1/instances/i-0000000000000000/spot-interruption", {})
    assert status == 409 and "does not exist" in err["error"]


def test_imds_mode_nth_drains_before_the_reclaim_and_the_asg_replaces(sim):
    core, apps, _, _ = sim.kube()
    node_group(sim, "itn-imds", ("m5.xlarge",), desired=2)
    nodes = wait_ready_nodes(core, "itn-imds", 2)
    ns = namespace(core, "itn-imds")
    apps.create_namespaced_daemon_set(ns, imds_daemonset(NTH_SETTINGS, namespace=ns, node_selector={"nodegroup-under-test": "itn-imds"}))
    nth_running(core, ns, 2)
    apps.create_namespaced_deployment(ns, deployment("web", 4, "itn-imds", cpu="250m"))
    wait_running(core, ns, "web", 4)
    victim = next(n for n in nodes if any(p.metadata.labels.get("app") == "web" for p in pods_on(core, ns, n.metadata.name)))
    iid = instance_of(victim)

    status, plan = control(sim, f"/v1/instances/{iid}/spot-interruption", {"reclaim": True})
    assert status == 201
    deadline = parse_time(plan["interruption_time"])

    def drained():
        node = core.read_node(victim.metadata.name)
        left = [p for p in pods_on(core, ns, victim.metadata.name) if p.metadata.labels.get("app") == "web"]
        return node if node.spec.unschedulable and not left else None

    node = wait_for(drained, 30, "victim cordoned and its web pods gone")
    # drained while the instance still runs: before the interruption time, on the cluster clock
    assert wait_instance_state(sim, iid, "running", timeout=1)
    drained_at = parse_time(_cluster_now(core))
    assert drained_at < deadline
    taint = next(t for t in node.spec.taints if t.key == "aws-node-termination-handler/spot-itn")
    assert taint.effect == "NoSchedule" and taint.value.startswith("spot-itn-") and len(taint.value) <= 63
    # NTH's write is owned in managedFields, dated to the second, as the API server records it; the
    # harness dates the cordon by it (a watch that delivers it late does not move the figure)
    entry = next(e for e in node.metadata.managed_fields if e.manager == "node-termination-handler")
    assert "f:unschedulable" in entry.fields_v1["f:spec"] and "f:taints" in entry.fields_v1["f:spec"], entry.fields_v1
    assert entry.operation == "Update" and entry.time.timestamp() <= drained_at
    _, record = node_record(sim.kube()[3].sanitize_for_serialization(node), False, lambda ts: ts)
    assert record.cordon_by == record.taint_by == entry.time.timestamp() + 1
    assert node.metadata.labels["aws-node-termination-handler/event-id"] == taint.value
    assert "node.kubernetes.io/exclude-from-external-load-balancers" not in node.metadata.labels  # off by default
    # NTH records CordonAndDrain once its drain call has returned, which may be just after the last pod is gone
    wait_for(lambda: {"SpotInterruption", "PreDrain", "CordonAndDrain"} <= set(node_events(core, victim.metadata.name)), 10,
             "NTH's events on the node", describe=lambda: node_events(core, victim.metadata.name))
    # the NTH DaemonSet pod itself stays (DaemonSet pods are not drained)
    assert any(p.metadata.labels.get("app.kubernetes.io/name") == "aws-node-termination-handler" for p in pods_on(core, ns, victim.metadata.name))
    wait_running(core, ns, "web", 4)

    # the reclaim: Server.SpotInstanceTermination, then a replacement instance and node
    gone = wait_instance_state(sim, iid, "terminated", timeout=30)
    assert gone["StateReason"]["Code"] == "Server.SpotInstanceTermination"
    replacement = wait_for(lambda: [n for n in wait_ready_nodes(core, "itn-imds", 2, timeout=60) if n.metadata.name != victim.metadata.name
                                    and n.metadata.name not in {m.metadata.name for m in nodes}], 60, "replacement node Ready")
    assert replacement


def _cluster_now(core) -> str:
    """Cluster time now, as the API server stamps a fresh object."""
    cm = core.create_namespaced_config_map("default", {"metadata": {"generateName": "clock-"}})
    return cm.metadata.creation_timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("setup", ["cordon-only", "dry-run", "no-nth"])
def test_without_a_drain_pods_run_until_the_instance_dies(sim, setup):
    core, apps, _, _ = sim.kube()
    group = f"itn-{setup}"
    node_group(sim, group, ("m5.xlarge",), desired=1)
    node = wait_ready_nodes(core, group, 1)[0]
    ns = namespace(core, group)
    if setup != "no-nth":
        extra = {"CORDON_ONLY": True} if setup == "cordon-only" else {"DRY_RUN": True}
        apps.create_namespaced_daemon_set(ns, imds_daemonset({**NTH_SETTINGS, **extra}, namespace=ns, node_selector={"nodegroup-under-test": group}))
        nth_running(core, ns, 1)
    apps.create_namespaced_deployment(ns, deployment("web", 2, group, cpu="250m"))
    before = {p.metadata.name for p in wait_running(core, ns, "web", 2)}
    iid = instance_of(node)
    assert control(sim, f"/v1/instances/{iid}/spot-interruption", {"reclaim": True})[0] == 201

    if setup == "cordon-only":
        wait_for(lambda: core.read_node(node.metadata.name).spec.unschedulable, 20, "node cordoned by NTH")
        wait_for(lambda: "Cordon" in node_events(core, node.metadata.name), 10, "NTH's Cordon event")
    if setup == "dry-run":  # NTH saw the notice (its event) and only logged what it would do
        wait_for(lambda: "SpotInterruption" in node_events(core, node.metadata.name), 20, "NTH saw the notice")
        wait_for(lambda: f'"node": "{node.metadata.name}"' in sim.log_path.read_text() and "nth_dry_run" in sim.log_path.read_text(), 20, "dry-run log line")
    wait_instance_state(sim, iid, "terminated", timeout=30)
    # nobody evicted them: the same pods, none being deleted, were on the node when it died
    at_death = [p for p in pods_on(core, ns, node.metadata.name) if p.metadata.labels.get("app") == "web"]
    assert {p.metadata.name for p in at_death} == before
    assert all(p.metadata.deletion_timestamp is None for p in at_death)
    assert core.read_node(node.metadata.name).spec.unschedulable is (True if setup == "cordon-only" else None)


def test_nth_retries_evictions_a_budget_refuses_and_rebalance_only_cordons(sim):
    """A PodDisruptionBudget refuses the eviction (429): NTH retries every 5 s, gives up after
    NODE_TERMINATION_GRACE_PERIOD (CordonAndDrainError) and tries again on the next poll; once
    the budget allows it, the drain completes.  A rebalance recommendation with monitoring on
    only cordons; EXCLUDE_FROM_LOAD_BALANCERS labels the node."""
    core, apps, policy, _ = sim.kube()
    node_group(sim, "itn-pdb", ("m5.xlarge",), desired=2)
    nodes = wait_ready_nodes(core, "itn-pdb", 2)
    ns = namespace(core, "itn-pdb")
    settings = {**NTH_SETTINGS, "NODE_TERMINATION_GRACE_PERIOD": 30, "ENABLE_REBALANCE_MONITORING": True, "EXCLUDE_FROM_LOAD_BALANCERS": True}
    apps.create_namespaced_daemon_set(ns, imds_daemonset(settings, namespace=ns, node_selector={"nodegroup-under-test": "itn-pdb"}))
    nth_running(core, ns, 2)
    web = deployment("web", 1, "itn-pdb", cpu="250m")
    web["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"] = nodes[0].metadata.name
    apps.create_namespaced_deployment(ns, web)
    wait_running(core, ns, "web", 1)
    policy.create_namespaced_pod_disruption_budget(ns, {"metadata": {"name": "web"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})

    # rebalance recommendation on the other node: cordoned, nothing evicted
    other = nodes[1]
    assert control(sim, f"/v1/instances/{instance_of(other)}/rebalance-recommendation", {})[0] == 201
    wait_for(lambda: "Cordon" in node_events(core, other.metadata.name), 20, "rebalance cordon")
    cordoned = core.read_node(other.metadata.name)
    assert cordoned.spec.unschedulable and "CordonAndDrain" not in node_events(core, other.metadata.name)
    assert any(p.metadata.labels.get("app.kubernetes.io/name") for p in pods_on(core, ns, other.metadata.name))

    victim = nodes[0]
    assert control(sim, f"/v1/instances/{instance_of(victim)}/spot-interruption", {"reclaim": False})[0] == 201
    wait_for(lambda: "CordonAndDrainError" in node_events(core, victim.metadata.name), 30, "NTH's drain timed out on the budget")
    node = core.read_node(victim.metadata.name)
    assert node.metadata.labels["node.kubernetes.io/exclude-from-external-load-balancers"] == "aws-node-termination-handler"
    assert [p for p in pods_on(core, ns, victim.metadata.name) if p.metadata.labels.get("app") == "web"]  # still there
    policy.patch_namespaced_pod_disruption_budget("web", ns, {"spec": {"minAvailable": 0}})
    wait_for(lambda: "CordonAndDrain" in node_events(core, victim.metadata.name), 30, "drain completed once the budget allows it")
    assert not [p for p in pods_on(core, ns, victim.metadata.name) if p.metadata.labels.get("app") == "web"]


def test_rebalance_draining_and_scheduled_maintenance(sim):
    """With ENABLE_REBALANCE_DRAINING a rebalance recommendation drains the node (monitoring
    alone only cordons, above); a scheduled maintenance event on the metadata is drained
    NODE_TERMINATION_GRACE_PERIOD before its start."""
    core, apps, _, _ = sim.kube()
    node_group(sim, "itn-rebal", ("m5.xlarge",), desired=2)
    nodes = wait_ready_nodes(core, "itn-rebal", 2)
    ns = namespace(core, "itn-rebal")
    settings = {**NTH_SETTINGS, "ENABLE_REBALANCE_DRAINING": True, "NODE_TERMINATION_GRACE_PERIOD": 60}
    apps.create_namespaced_daemon_set(ns, imds_daemonset(settings, namespace=ns, node_selector={"nodegroup-under-test": "itn-rebal"}))
    nth_running(core, ns, 2)
    first, second = nodes
    for n in nodes:
        web = deployment(f"web-{n.metadata.name.split('.')[0]}", 1, "itn-rebal", cpu="250m")
        web["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"] = n.metadata.name
        web["spec"]["template"]["metadata"]["labels"]["role"] = "web"
        apps.create_namespaced_deployment(ns, web)
    wait_for(lambda: len([p for p in core.list_namespaced_pod(ns, label_selector="role=web").items if p.status.phase == "Running"]) == 2, 30, "web pods")

    assert control(sim, f"/v1/instances/{instance_of(first)}/rebalance-recommendation", {})[0] == 201
    wait_for(lambda: "CordonAndDrain" in node_events(core, first.metadata.name), 20, "rebalance drained")
    node = core.read_node(first.metadata.name)
    assert any(t.key == "aws-node-termination-handler/rebalance-recommendation" for t in node.spec.taints)
    assert not [p for p in pods_on(core, ns, first.metadata.name) if (p.metadata.labels or {}).get("role") == "web"]

    status, event = control(sim, f"/v1/instances/{instance_of(second)}/scheduled-event", {"code": "system-reboot", "not_before_seconds": 90})
    assert status == 201
    url = next(i["metadata_url"] for i in control(sim, "/v1/instances")[1]["instances"] if i["instance_id"] == instance_of(second))
    listed = json.loads(_imds(url, "/latest/meta-data/events/maintenance/scheduled")[1])
    assert listed == [event] and event["Code"] == "system-reboot" and event["State"] == "active"
    # 90 s ahead with a 60 s grace period: NTH waits ~30 s, then drains before the maintenance
    wait_for(lambda: "CordonAndDrain" in node_events(core, second.metadata.name), 30, "scheduled maintenance drained")
    node = core.read_node(second.metadata.name)
    assert any(t.key == "aws-node-termination-handler/scheduled-maintenance" for t in node.spec.taints)
    assert "ScheduledEvent" in node_events(core, second.metadata.name)
