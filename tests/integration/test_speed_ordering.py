"""The same Spot interruption at speed 1 and speed 20 gives the same ordering of events: node up,
pod scheduled, the notice on the instance's metadata, NTH's drain, the reclaim, the replacement
node and the pod back on it."""

from __future__ import annotations

from cluster.manifests.nth import imds_daemonset
from cluster.waiting import wait_for
from tests.conftest import start_sim
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)
from tests.integration.spot_helpers import control, instance_of, node_events, nth_running

TIMINGS = {"instance_boot": 1.0, "node_ready": 0.5, "pod_start": 0.5, "node_monitor_grace": 4.0, "node_deletion": 0.5, "pod_gc": 2.0, "aws_poll": 0.25}


def _life_cycle(handle) -> list[str]:
    core, apps, _, _ = handle.kube()
    node_group(handle, "ordering", ("m5.xlarge",), desired=1)
    first = wait_ready_nodes(core, "ordering", 1)[0]
    ns = namespace(core, "ordering")
    apps.create_namespaced_daemon_set(ns, imds_daemonset({"EMIT_KUBERNETES_EVENTS": True, "TAINT_NODE": True}, namespace=ns))
    nth_running(core, ns, 1)
    apps.create_namespaced_deployment(ns, deployment("solo", 1, "ordering"))
    wait_running(core, ns, "solo", 1)
    iid = instance_of(first)
    assert control(handle, f"/v1/instances/{iid}/spot-interruption", {"reclaim": False})[0] == 201
    wait_for(lambda: "CordonAndDrain" in node_events(core, first.metadata.name), 60, "NTH drained the node")
    assert control(handle, f"/v1/instances/{iid}/reclaim", {})[0] == 201
    second = wait_for(lambda: [n for n in wait_ready_nodes(core, "ordering", 1, timeout=60) if n.metadata.name != first.metadata.name], 60, "replacement node")
    wait_for(lambda: [p for p in core.list_namespaced_pod(ns).items if p.spec.node_name == second[0].metadata.name and p.status.phase == "Running"], 60, "pod back on the replacement")
    # the story ends when the reclaimed node is gone (a fixed point in cluster time at any speed)
    wait_for(lambda: "DeletingNode" in node_events(core, first.metadata.name), 60, "reclaimed node deleted")
    events = core.list_namespaced_event("default").items + core.list_namespaced_event(ns).items
    # Event names end in the cluster-clock nanosecond they were recorded at.
    events.sort(key=lambda e: int(e.metadata.name.rsplit(".", 1)[1], 16))
    aliases: dict[str, str] = {}
    out = []
    for e in events:
        obj = e.involved_object
        # NTH's own DaemonSet pods and the scheduler's retries follow real-time polling, not the story
        if obj.kind not in ("Node", "Pod") or e.reason == "FailedScheduling" or obj.name.startswith("aws-node-termination-handler"):
            continue
        alias = aliases.setdefault(obj.name, f"{obj.kind.lower()}{sum(1 for a in aliases.values() if a.startswith(obj.kind.lower())) + 1}")
        out.append(f"{alias}:{e.reason}")
    return out


def test_same_order_at_speed_1_and_20(tmp_path):
    orders = {}
    for speed in (1.0, 20.0):
        handle = start_sim(tmp_path / f"speed{speed:g}", speed=speed, timings=TIMINGS, imds={"port": 1339}, node_address_octet=60)
        try:
            orders[speed] = _life_cycle(handle)
        finally:
            assert handle.stop() == 0
    assert orders[1.0] == orders[20.0]
    seq = orders[1.0]
    assert seq.index("node1:NodeReady") < seq.index("pod1:Scheduled") < seq.index("node1:SpotInterruption") < seq.index("node1:PreDrain")
    assert seq.index("node1:PreDrain") < seq.index("pod1:Killing") < seq.index("node1:CordonAndDrain") < seq.index("node1:NodeNotReady")
    assert seq.index("node1:NodeNotReady") < seq.index("node1:DeletingNode")
    assert seq.index("node2:NodeReady") < seq.index("pod2:Scheduled")
