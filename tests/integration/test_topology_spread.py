"""Topology spread in the simulator's scheduler, as kube-scheduler keeps it: a Deployment spread
over three zones with DoNotSchedule keeps a lost zone's replica Pending (the other zones would go
out of skew while the lost zone's node is still there), with FailedScheduling saying so; with
ScheduleAnyway the replica goes to another zone."""

from __future__ import annotations

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)

ZONE = "topology.kubernetes.io/zone"


def _spread(name: str, group: str, when: str) -> dict:
    return deployment(name, 3, group, extra_spec={"topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": when, "labelSelector": {"matchLabels": {"app": name}}}]})


def test_a_lost_zones_replica_stays_pending_under_do_not_schedule_and_moves_under_schedule_anyway(sim):
    core, apps, *_ = sim.kube()
    node_group(sim, "spread-group", ("m5.xlarge",), desired=3)
    nodes = wait_ready_nodes(core, "spread-group", 3)
    zone_of = {n.metadata.name: n.metadata.labels[ZONE] for n in nodes}
    assert len(set(zone_of.values())) == 3, zone_of  # the group balances its instances over the three zones
    ns = namespace(core, "spread")
    for name, when in (("hard", "DoNotSchedule"), ("soft", "ScheduleAnyway")):
        apps.create_namespaced_deployment(ns, _spread(name, "spread-group", when))
        pods = wait_running(core, ns, name, 3)
        assert sorted(zone_of[p.spec.node_name] for p in pods) == sorted(zone_of.values()), name  # one per zone
    # zone of the first node lost for scheduling (cordoned, as a node of a zone without power is
    # tainted unreachable: still there, so still a domain with none of the Deployment's pods)
    lost = nodes[0].metadata.name
    core.patch_node(lost, {"spec": {"unschedulable": True}})
    for name in ("hard", "soft"):
        (victim,) = [p for p in wait_running(core, ns, name, 3) if p.spec.node_name == lost]
        core.delete_namespaced_pod(victim.metadata.name, ns, grace_period_seconds=0)

    def pending_reason() -> str | None:
        pending = [p for p in core.list_namespaced_pod(ns, label_selector="app=hard").items if p.status.phase == "Pending" and not p.metadata.deletion_timestamp]
        for p in pending:
            for c in p.status.conditions or []:
                if c.type == "PodScheduled" and c.reason == "Unschedulable":
                    return c.message
        return None

    message = wait_for(pending_reason, 30, "the hard-spread replica Unschedulable")
    assert "2 node(s) didn't match pod topology spread constraints" in message and "node(s) were unschedulable" in message, message  # other tests cordon nodes of the shared simulator too
    soft = wait_running(core, ns, "soft", 3)
    assert lost not in {p.spec.node_name for p in soft} and len({zone_of[p.spec.node_name] for p in soft}) == 2
    events = core.list_namespaced_event(ns, field_selector="reason=FailedScheduling").items
    assert any("topology spread" in (e.message or "") for e in events)
    core.patch_node(lost, {"spec": {"unschedulable": False}})  # the zone is back: the replica goes there
    hard = wait_running(core, ns, "hard", 3)
    assert sorted(zone_of[p.spec.node_name] for p in hard) == sorted(zone_of.values())
