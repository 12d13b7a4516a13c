"""Karpenter's decisions in the simulator: the interruption messages it acts on (the table in
karpenter-provider-aws pkg/controllers/interruption), where a pod fits a NodePool, how pods pack
into NodeClaims, and disruption budgets."""

from __future__ import annotations

import json

import pytest

from cluster.sim.addons import karpenter_plan as kp

AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]


def _event(source: str, detail_type: str, detail: dict[str, object]) -> str:
    return json.dumps({"version": "0", "source": source, "detail-type": detail_type, "time": "2026-11-27T10:00:00Z", "detail": detail})


@pytest.mark.parametrize(("body", "kind", "acts"), [
    (_event("aws.ec2", "EC2 Spot Instance Interruption Warning", {"instance-id": "i-1", "instance-action": "terminate"}), kp.Kind.SPOT_INTERRUPTED, True),
    (_event("aws.ec2", "EC2 Instance Rebalance Recommendation", {"instance-id": "i-1"}), kp.Kind.REBALANCE, False),
    (_event("aws.ec2", "EC2 Instance State-change Notification", {"instance-id": "i-1", "state": "stopping"}), kp.Kind.STOPPED, True),
    (_event("aws.ec2", "EC2 Instance State-change Notification", {"instance-id": "i-1", "state": "shutting-down"}), kp.Kind.TERMINATED, True),
    (_event("aws.ec2", "EC2 Instance State-change Notification", {"instance-id": "i-1", "state": "running"}), kp.Kind.NO_OP, False),
    (_event("aws.health", "AWS Health Event", {"service": "EC2", "eventTypeCategory": "scheduledChange",
                                               "affectedEntities": [{"entityValue": "i-1"}]}), kp.Kind.SCHEDULED_CHANGE, True),
    (_event("aws.health", "AWS Health Event", {"service": "EC2", "eventTypeCategory": "issue"}), kp.Kind.NO_OP, False),
    (_event("aws.autoscaling", "EC2 Instance-terminate Lifecycle Action", {"EC2InstanceId": "i-1"}), kp.Kind.NO_OP, False),
    ("", kp.Kind.NO_OP, False),
])
def test_messages_are_read_and_acted_on_as_karpenter_does(body: str, kind: kp.Kind, acts: bool) -> None:
    msg = kp.parse_message(body)
    assert msg.kind == kind
    assert kp.deletes_node_claim(msg.kind) is acts
    if acts:
        assert msg.instance_ids == ("i-1",)


def test_a_body_that_is_not_json_is_refused_for_deletion() -> None:
    with pytest.raises(ValueError, match="failed parsing interruption message"):
        kp.parse_message("{not json")


def _pool(**spec: object) -> kp.PoolShape:
    template = {"metadata": {"labels": {"intent": "apps"}}, "spec": {"nodeClassRef": {"name": "default"}, "requirements": [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]},
        {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["m", "c"]},
        {"key": "karpenter.k8s.aws/instance-cpu", "operator": "In", "values": ["4", "8"]},
        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["4"]}]}}
    return kp.pool_shape({"metadata": {"name": "serving"}, "spec": {"template": template, **spec}}, AZS)


def test_a_pool_allows_the_types_its_requirements_select_and_spot_first() -> None:
    pool = _pool()
    assert pool.capacity_types == ("spot", "on-demand")
    assert "m5.xlarge" in pool.types and "c5.2xlarge" in pool.types and "m6i.2xlarge" in pool.types
    assert not {"m4.xlarge", "r5.xlarge", "m5.large", "m5.4xlarge", "t3.xlarge"} & set(pool.types)
    assert pool.labels == {"intent": "apps", "karpenter.sh/nodepool": "serving"}
    assert pool.consolidation == "WhenEmptyOrUnderutilized" and pool.consolidate_after == 0 and pool.budgets == ({"nodes": "10%"},)


def test_a_pool_that_names_no_capacity_type_launches_on_demand() -> None:
    pool = kp.pool_shape({"metadata": {"name": "p"}, "spec": {"template": {"spec": {"requirements": []}}}}, AZS)
    assert pool.capacity_types == ("on-demand",)


def _pod(selector: dict[str, str] | None = None, terms: tuple[tuple[dict[str, object], ...], ...] = (), cpu: int = 2000) -> kp.PodNeeds:
    return kp.PodNeeds("ns/p", cpu, 2 << 30, selector or {}, terms, ())


def test_a_pod_fits_a_pool_when_its_selector_matches_the_pool_labels_or_narrows_its_offerings() -> None:
    pool = _pool()
    assert kp.fit(pool, _pod({"intent": "apps"})) is not None
    assert kp.fit(pool, _pod({"intent": "batch"})) is None
    assert kp.fit(pool, _pod({"lifecycle": "Ec2Spot"})) is None  # a label no node of the pool carries
    narrowed = kp.fit(pool, _pod({"topology.kubernetes.io/zone": "us-east-1b", "karpenter.sh/capacity-type": "on-demand"}))
    assert narrowed is not None and narrowed.zones == ("us-east-1b",) and narrowed.capacity_types == ("on-demand",)
    either = ({"key": "lifecycle", "operator": "In", "values": ["OnDemand"]},), ({"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},)
    assert kp.fit(pool, _pod(terms=either)).capacity_types == ("on-demand",)  # type: ignore[union-attr]


def test_a_tainted_pool_takes_only_pods_that_tolerate_its_taints() -> None:
    template = {"spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}], "requirements": []}}
    pool = kp.pool_shape({"metadata": {"name": "gpu"}, "spec": {"template": template}}, AZS)
    assert kp.fit(pool, _pod()) is None
    tolerant = kp.PodNeeds("ns/p", 1000, 1 << 30, {}, (), ({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},))
    assert kp.fit(pool, tolerant) is not None


def test_pods_pack_into_claims_that_keep_the_types_fitting_them_all() -> None:
    pool = _pool()
    pods = [(kp.PodNeeds(f"ns/p{i}", 2000, 2 << 30, {}, (), ()), kp.fit(pool, _pod())) for i in range(5)]
    claims = kp.pack(pool, [(p, f) for p, f in pods if f is not None], overhead=(200, 256 << 20))
    # three 2-CPU pods fit an 8-vCPU node (7.9 allocatable less the DaemonSets), not a 4-vCPU one
    assert [len(c.pods) for c in claims] == [3, 2]
    assert all(kp.type_labels(t)["karpenter.k8s.aws/instance-cpu"] == "8" for t in claims[0].types)
    assert claims[0].types == tuple(sorted(claims[0].types, key=kp.price_rank))


@pytest.mark.parametrize(("budgets", "total", "deleting", "not_ready", "reason", "allowed"), [
    ([{"nodes": "10%"}], 25, 0, 0, "Empty", 3),
    ([{"nodes": "10%"}], 25, 2, 1, "Empty", 0),
    ([{"nodes": "5"}, {"nodes": "20%"}], 10, 0, 0, "Underutilized", 2),
    ([{"nodes": "0", "reasons": ["Underutilized"]}], 10, 0, 0, "Empty", 10),
    ([{"nodes": "0", "reasons": ["Underutilized"]}], 10, 0, 0, "Underutilized", 0),
])
def test_disruption_budgets(budgets: list[dict[str, object]], total: int, deleting: int, not_ready: int, reason: str, allowed: int) -> None:
    assert kp.allowed_disruptions(budgets, total, deleting, not_ready, reason) == allowed


def test_durations() -> None:
    assert kp.parse_duration("1h30m") == 5400 and kp.parse_duration("Never") is None and kp.parse_duration("10s") == 10
    with pytest.raises(ValueError, match="not a duration"):
        kp.parse_duration("soon")


def _spread_pod(name: str, key: str, when: str = "ScheduleAnyway") -> dict[str, object]:
    return {"metadata": {"namespace": "shop", "name": name, "labels": {"app": "ui"}},
            "spec": {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": when,
                                                    "labelSelector": {"matchLabels": {"app": "ui"}}}]}}


def test_zone_spread_sends_each_new_pod_to_the_zone_with_fewest_of_its_group() -> None:
    pool = _pool()
    pods = [_spread_pod(f"ui-{i}", kp.ZONE) for i in range(3)]
    needs = [(f"shop/ui-{i}", kp.PodNeeds(f"shop/ui-{i}", 500, 1 << 30, {}, (), (), kp.spread_needs(p, True))) for i, p in enumerate(pods)]
    running = {"metadata": {"namespace": "shop", "name": "ui-old", "labels": {"app": "ui"}}, "spec": {"nodeName": "n1"}}
    counts = kp.zone_counts((n for _, n in needs), [running], {"n1": "us-east-1a"})
    assert counts == {next(iter(counts)): {"us-east-1a": 1}}
    assigned = kp.assign(needs, [], [pool], counts)
    zones = sorted(where.zones for _, where in assigned.by_pool["serving"])
    assert zones == [("us-east-1a",), ("us-east-1b",), ("us-east-1c",)]  # 1a already holds one: b, c, then a
    claims = kp.pack(pool, assigned.by_pool["serving"], (0, 0))
    assert sorted(c.zones for c in claims) == zones  # one claim per zone: they cannot share a node
    # under PREFERENCE_POLICY=Ignore a ScheduleAnyway constraint is not planned for: one node holds them all
    ignored = [(k, kp.PodNeeds(k, 500, 1 << 30, {}, (), (), kp.spread_needs(p, False))) for (k, _), p in zip(needs, pods, strict=True)]
    assert len(kp.pack(pool, kp.assign(ignored, [], [pool]).by_pool["serving"], (0, 0))) == 1


def test_hostname_spread_puts_pods_of_one_group_on_separate_new_nodes() -> None:
    pool = _pool()
    needs = [(f"shop/ui-{i}", kp.PodNeeds(f"shop/ui-{i}", 500, 1 << 30, {}, (), (), kp.spread_needs(_spread_pod(f"ui-{i}", kp.HOSTNAME, "DoNotSchedule"), False)))
             for i in range(3)]
    claims = kp.pack(pool, kp.assign(needs, [], [pool]).by_pool["serving"], (0, 0))
    assert len(claims) == 3 and all(len(c.pods) == 1 for c in claims)


def test_a_spread_pod_waits_for_a_coming_claim_only_in_the_zone_its_spread_picks() -> None:
    pool = _pool()
    pod = _spread_pod("ui-1", kp.ZONE)
    needs = kp.PodNeeds("shop/ui-1", 500, 1 << 30, {}, (), (), kp.spread_needs(pod, True))
    group = needs.spread[0].group
    coming = [kp.ComingClaim("serving-a", "serving", 4000, 8 << 30, "us-east-1a", [group])]
    taken = kp.assign([("shop/ui-1", needs)], coming, [pool], {group: {"us-east-1a": 1}})
    assert not taken.nominated and taken.by_pool["serving"][0][1].zones == ("us-east-1b",)  # a new claim in an empty zone
    plain = kp.PodNeeds("shop/other", 500, 1 << 30, {}, (), ())
    assert kp.assign([("shop/other", plain)], coming, [pool]).nominated == {"shop/other": "serving-a"}


def test_pods_held_by_hard_constraints_are_not_consolidated_away() -> None:
    assert kp.held_in_place(_spread_pod("ui-1", kp.ZONE, "DoNotSchedule"))
    assert not kp.held_in_place(_spread_pod("ui-1", kp.ZONE, "ScheduleAnyway"))
    anti = {"metadata": {"namespace": "kube-system", "name": "karpenter-1"},
            "spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": kp.HOSTNAME}]}}}}
    assert kp.held_in_place(anti)
