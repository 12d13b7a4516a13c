"""Karpenter on the simulator, driven as on EKS: its controller Deployment (found by image,
configured by CLUSTER_NAME and INTERRUPTION_QUEUE), an EC2NodeClass and a NodePool applied
through the Kubernetes API once its CRDs are installed, its queue and EventBridge rules made with boto3, Spot notices sent
through the control API (EC2's side), capacity errors through FIS.  Everything is read back
through the Kubernetes, EC2 and SQS APIs.  A simulator of its own: Karpenter provisions for
any pending pod its NodePool can hold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from cluster.aws import interruption_queues
from cluster.manifests.karpenter import IMAGE, crds
from cluster.nodegroups import ensure_network
from cluster.waiting import wait_for
from tests.conftest import start_sim
from tests.integration.helpers import (
    AZS,
    CLUSTER,
    deployment,
    namespace,
    node_group,
    running_pods,
    wait_ready_nodes,
    wait_running,
)
from tests.integration.spot_helpers import control, instance_of

pytestmark = pytest.mark.integration

POOL = "karp"
POOL_LABEL = {"pool-under-test": POOL}


def _custom(sim: Any) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(sim.kube()[0].api_client)


def _claims(sim: Any) -> list[dict[str, Any]]:
    return list(_custom(sim).list_cluster_custom_object("karpenter.sh", "v1", "nodeclaims")["items"])


def _conditions(claim: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (claim.get("status") or {}).get("conditions") or []}


def _node_of(core: Any, claim: dict[str, Any]) -> Any:
    return core.read_node(claim["status"]["nodeName"])


def _create_pool(sim: Any, name: str, requirements: list[dict[str, Any]], disruption: dict[str, Any], **template_spec: Any) -> None:
    """A NodePool on the default EC2NodeClass whose nodes carry pool-under-test=<name>."""
    _custom(sim).create_cluster_custom_object("karpenter.sh", "v1", "nodepools", {
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name},
        "spec": {"template": {"metadata": {"labels": {"pool-under-test": name}}, "spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"}, "requirements": requirements, **template_spec}},
                 "disruption": disruption}})


SPOT_4VCPU = [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
              {"key": "karpenter.k8s.aws/instance-cpu", "operator": "In", "values": ["4"]}]


@pytest.fixture(scope="session")
def ksim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    handle = start_sim(tmp_path_factory.mktemp("karpenter-sim"))  # addresses leased: a worker each may start one
    core, apps, _, _ = handle.kube()
    ec2 = handle.aws("ec2")
    # the network Karpenter's EC2NodeClass finds by its discovery tag, and an on-demand group for the controller
    node_group(handle, "karp-control", ("m5.large",), 1, spot=False)
    ec2.create_tags(Resources=ensure_network(ec2, CLUSTER, AZS), Tags=[{"Key": "karpenter.sh/discovery", "Value": CLUSTER}])
    interruption_queues.ensure_queue_and_rules(handle.aws("sqs"), handle.aws("events"), CLUSTER, wiring=interruption_queues.KARPENTER)
    wait_ready_nodes(core, "karp-control", 1, 60)
    extensions = client.ApiextensionsV1Api(handle.kube()[3])
    for crd in crds():  # as the chart's crds/ installs them
        extensions.create_custom_resource_definition(crd)
    custom = _custom(handle)
    custom.create_cluster_custom_object("karpenter.k8s.aws", "v1", "ec2nodeclasses", {
        "apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": "default"},
        "spec": {"role": "KarpenterNodeRole", "amiSelectorTerms": [{"alias": "al2023@latest"}],
                 "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": CLUSTER}}],
                 "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": CLUSTER}}]}})
    _create_pool(handle, POOL, SPOT_4VCPU, {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "30s", "budgets": [{"nodes": "100%"}]})
    labels = {"app.kubernetes.io/name": "karpenter"}
    apps.create_namespaced_deployment("kube-system", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "karpenter", "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "nodeSelector": {"nodegroup-under-test": "karp-control"},
            "containers": [{"name": "controller", "image": f"{IMAGE}:1.8.1", "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}},
                            "env": [{"name": "CLUSTER_NAME", "value": CLUSTER}, {"name": "INTERRUPTION_QUEUE", "value": CLUSTER}]}]}}}})
    wait_for(lambda: [p for p in core.list_namespaced_pod("kube-system", label_selector="app.kubernetes.io/name=karpenter").items
                      if p.status.phase == "Running"] or None, 30, "Karpenter running")
    yield handle
    handle.stop()


def _serve(sim: Any, ns: str, name: str, replicas: int, cpu: str = "1500m") -> list[Any]:
    core, apps, _, _ = sim.kube()
    spec = deployment(name, replicas, "unused", cpu=cpu)
    spec["spec"]["template"]["spec"]["nodeSelector"] = dict(POOL_LABEL)
    apps.create_namespaced_deployment(ns, spec)
    return wait_running(core, ns, name, replicas, 60)


def test_pending_pods_become_nodeclaims_and_registered_spot_nodes(ksim: Any) -> None:
    core, _, _, _ = ksim.kube()
    ns = namespace(core, "karp-provision")
    pods = _serve(ksim, ns, "web", 3)
    nodes = {p.spec.node_name for p in pods}
    claims = [c for c in _claims(ksim) if c["status"].get("nodeName") in nodes]
    assert len(claims) == len(nodes) >= 2  # 1.5 CPU pods: two fit a 4-vCPU node
    ec2 = ksim.aws("ec2")
    for claim in claims:
        assert _conditions(claim) == {"Launched": "True", "Registered": "True", "Initialized": "True", "Ready": "True"}
        node = _node_of(core, claim)
        labels = node.metadata.labels
        assert labels["karpenter.sh/nodepool"] == POOL and labels["karpenter.sh/capacity-type"] == "spot" and labels["pool-under-test"] == POOL
        assert labels["karpenter.sh/registered"] == "true" and labels["karpenter.sh/initialized"] == "true"
        assert labels["karpenter.k8s.aws/instance-cpu"] == "4" and "eks.amazonaws.com/nodegroup" not in labels
        assert "karpenter.sh/termination" in node.metadata.finalizers
        assert not any(t.key == "karpenter.sh/unregistered" for t in node.spec.taints or [])
        (instance,) = ec2.describe_instances(InstanceIds=[instance_of(node)])["Reservations"][0]["Instances"]
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert instance["InstanceLifecycle"] == "spot" and tags["karpenter.sh/nodeclaim"] == claim["metadata"]["name"]
        assert tags[f"kubernetes.io/cluster/{CLUSTER}"] == "owned" and tags["karpenter.sh/nodepool"] == POOL


def test_a_spot_notice_deletes_the_claim_taints_and_drains_with_the_replacement_launched_alongside(ksim: Any) -> None:
    core, _, _, _ = ksim.kube()
    ns = namespace(core, "karp-notice")
    (pod,) = _serve(ksim, ns, "solo", 1)
    # a budget that allows no eviction holds the drain, so the node's state while draining can be read
    policy = client.PolicyV1Api(core.api_client)
    policy.create_namespaced_pod_disruption_budget(ns, {"metadata": {"name": "hold"}, "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "solo"}}}})
    old = core.read_node(pod.spec.node_name)
    old_claim = next(c for c in _claims(ksim) if c["status"].get("nodeName") == old.metadata.name)
    assert control(ksim, f"/v1/instances/{instance_of(old)}/spot-interruption", {})[0] == 201

    def draining() -> Any:
        node = core.read_node(old.metadata.name)
        return node if any(t.key == "karpenter.sh/disrupted" and t.effect == "NoSchedule" for t in node.spec.taints or []) else None

    node = wait_for(draining, 5, "the node tainted karpenter.sh/disrupted")
    assert node.metadata.labels["node.kubernetes.io/exclude-from-external-load-balancers"] == "karpenter"
    assert node.metadata.deletion_timestamp is not None
    claim = _custom(ksim).get_cluster_custom_object("karpenter.sh", "v1", "nodeclaims", old_claim["metadata"]["name"])
    assert claim["metadata"]["deletionTimestamp"] and _conditions(claim)["Drained"] == "Unknown"  # draining
    # the replacement is launched while the old node still drains (the pod is still on it)
    replacement = wait_for(lambda: [c for c in _claims(ksim) if not c["metadata"].get("deletionTimestamp") and (c.get("status") or {}).get("providerID")
                                    and c["metadata"]["creationTimestamp"] >= claim["metadata"]["deletionTimestamp"]] or None, 5, "a replacement NodeClaim")
    assert core.read_namespaced_pod(pod.metadata.name, ns).spec.node_name == old.metadata.name
    # the interrupted offering is unavailable for 3 minutes: the replacement is another type or zone
    old_offering = (old.metadata.labels["node.kubernetes.io/instance-type"], old.metadata.labels["topology.kubernetes.io/zone"])
    new_labels = replacement[0]["metadata"]["labels"]
    assert (new_labels["node.kubernetes.io/instance-type"], new_labels["topology.kubernetes.io/zone"]) != old_offering
    reasons = {e.reason for e in core.list_namespaced_event("default", field_selector=f"involvedObject.name={old.metadata.name}").items}
    assert {"SpotInterrupted", "TerminatingOnInterruption"} <= reasons
    policy.delete_namespaced_pod_disruption_budget("hold", ns)
    # drained: the pod runs elsewhere, the old node and its claim are gone
    wait_for(lambda: [p for p in running_pods(core, ns, "solo") if p.spec.node_name != old.metadata.name] or None, 60, "the pod running on another node")
    wait_for(lambda: old.metadata.name not in {n.metadata.name for n in core.list_node().items} or None, 30, "the old node gone")
    wait_for(lambda: old_claim["metadata"]["name"] not in {c["metadata"]["name"] for c in _claims(ksim)} or None, 30, "the old NodeClaim gone")


def test_a_rebalance_recommendation_is_only_recorded(ksim: Any) -> None:
    core, _, _, _ = ksim.kube()
    ns = namespace(core, "karp-rebalance")
    (pod,) = _serve(ksim, ns, "calm", 1)
    node = core.read_node(pod.spec.node_name)
    assert control(ksim, f"/v1/instances/{instance_of(node)}/rebalance-recommendation", {})[0] == 201

    def recorded() -> bool:
        events = core.list_namespaced_event("default", field_selector=f"involvedObject.name={node.metadata.name}").items
        return any(e.reason == "SpotRebalanceRecommendation" and e.type == "Normal" for e in events)

    wait_for(recorded, 10, "the rebalance recommendation recorded on the node")
    claim = next(c for c in _claims(ksim) if c["status"].get("nodeName") == node.metadata.name)
    assert not claim["metadata"].get("deletionTimestamp")
    assert not any(t.key == "karpenter.sh/disrupted" for t in core.read_node(node.metadata.name).spec.taints or [])


def test_empty_nodes_are_consolidated_after_consolidate_after(ksim: Any) -> None:
    core, apps, _, _ = ksim.kube()
    ns = namespace(core, "karp-consolidate")
    pods = _serve(ksim, ns, "brief", 2, cpu="3500m")  # a node each, of their own: no other pod fits beside
    nodes = {p.spec.node_name for p in pods}
    assert len(nodes) == 2
    claims = {c["metadata"]["name"] for c in _claims(ksim) if c["status"].get("nodeName") in nodes}
    apps.patch_namespaced_deployment_scale("brief", ns, {"spec": {"replicas": 0}})
    # WhenEmpty after 30 s (1.5 s here): the empty nodes' claims are deleted, their instances end
    wait_for(lambda: not (claims & {c["metadata"]["name"] for c in _claims(ksim)}) or None, 30, "the empty nodes' NodeClaims deleted")
    wait_for(lambda: not (nodes & {n.metadata.name for n in core.list_node().items}) or None, 30, "the empty nodes gone")


def test_launches_that_fail_for_capacity_leave_pods_pending_until_capacity_returns(ksim: Any) -> None:
    core, apps, _, _ = ksim.kube()
    ns = namespace(core, "karp-ice")
    fis, iam = ksim.aws("fis"), ksim.aws("iam")
    role = iam.create_role(RoleName=f"{CLUSTER}-karpenter-ice", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    template = fis.create_experiment_template(
        clientToken="karp-ice", description="no capacity for Karpenter", roleArn=role, stopConditions=[{"source": "none"}],
        targets={"roles": {"resourceType": "aws:iam:role", "resourceArns": [role], "selectionMode": "ALL"}},
        actions={"ice": {"actionId": "aws:ec2:api-insufficient-instance-capacity-error", "targets": {"Roles": "roles"},
                         "parameters": {"availabilityZoneIdentifiers": "us-east-1a,us-east-1b,us-east-1c", "duration": "PT2M", "percentage": "100"}}},
    )["experimentTemplate"]["id"]
    experiment = fis.start_experiment(experimentTemplateId=template)["experiment"]["id"]
    wait_for(lambda: fis.get_experiment(id=experiment)["experiment"]["state"]["status"] == "running" or None, 10, "the FIS experiment running")
    before = {c["metadata"]["name"] for c in _claims(ksim)}
    spec = deployment("starved", 1, "unused", cpu="3500m")  # a node of its own: no room on the nodes there are
    spec["spec"]["template"]["spec"]["nodeSelector"] = dict(POOL_LABEL)
    apps.create_namespaced_deployment(ns, spec)

    def failed() -> bool:
        return any(e.reason == "InsufficientCapacityError" for e in core.list_namespaced_event("default").items)

    wait_for(failed, 10, "a launch failing with InsufficientCapacityError")
    assert not [p for p in core.list_namespaced_pod(ns).items if p.spec.node_name]
    assert not [c for c in _claims(ksim) if c["metadata"]["name"] not in before and c["status"].get("providerID")]
    fis.stop_experiment(id=experiment)
    # capacity back (and the offerings' 3 minutes past): the pod gets a node
    wait_running(core, ns, "starved", 1, 60)


def test_a_termination_grace_period_ends_a_drain_a_budget_blocks(ksim: Any) -> None:
    core, _, _, _ = ksim.kube()
    pool = "karp-tgp"
    _create_pool(ksim, pool, [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}], {"consolidateAfter": "Never"},
                 terminationGracePeriod="40s")
    ns = namespace(core, "karp-tgp")
    spec = deployment("held", 1, "unused", cpu="500m")
    spec["spec"]["template"]["spec"]["nodeSelector"] = {"pool-under-test": pool}
    ksim.kube()[1].create_namespaced_deployment(ns, spec)
    (pod,) = wait_running(core, ns, "held", 1, 60)
    client.PolicyV1Api(core.api_client).create_namespaced_pod_disruption_budget(
        ns, {"metadata": {"name": "hold"}, "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "held"}}}})
    claim = next(c for c in _claims(ksim) if c["status"].get("nodeName") == pod.spec.node_name)
    assert claim["spec"]["terminationGracePeriod"] == "40s"
    # `kubectl delete nodeclaim`: the drain cannot evict past the budget, until the grace period ends
    _custom(ksim).delete_cluster_custom_object("karpenter.sh", "v1", "nodeclaims", claim["metadata"]["name"])
    wait_for(lambda: any(t.key == "karpenter.sh/disrupted" for t in core.read_node(pod.spec.node_name).spec.taints or []) or None, 10, "the node tainted")
    assert core.read_namespaced_pod(pod.metadata.name, ns).metadata.deletion_timestamp is None  # the budget holds the eviction
    wait_for(lambda: pod.metadata.name not in {p.metadata.name for p in core.list_namespaced_pod(ns).items} or None, 30,
             "the pod deleted at the termination grace period")
    wait_for(lambda: pod.spec.node_name not in {n.metadata.name for n in core.list_node().items} or None, 30, "the node gone")


def test_a_claim_whose_instance_went_unannounced_is_garbage_collected(ksim: Any) -> None:
    core, _, _, _ = ksim.kube()
    events = ksim.aws("events")
    ns = namespace(core, "karp-gc")
    (pod,) = _serve(ksim, ns, "lost", 1, cpu="3500m")
    claim = next(c for c in _claims(ksim) if c["status"].get("nodeName") == pod.spec.node_name)
    # no state-change message reaches Karpenter: only its garbage collection (every 2 minutes) learns the instance is gone
    rule = interruption_queues.rule_name(CLUSTER, "state-change", interruption_queues.KARPENTER)
    events.remove_targets(Rule=rule, Ids=["karpenter-queue"])
    try:
        node = core.read_node(pod.spec.node_name)
        assert control(ksim, f"/v1/instances/{instance_of(node)}/reclaim", {})[0] in (200, 201)
        wait_for(lambda: claim["metadata"]["name"] not in {c["metadata"]["name"] for c in _claims(ksim)} or None, 30, "the claim garbage collected")
        wait_for(lambda: node.metadata.name not in {n.metadata.name for n in core.list_node().items} or None, 30, "the node gone")
        # and its pod comes back on capacity launched for it
        wait_for(lambda: [p for p in running_pods(core, ns, "lost") if p.spec.node_name != node.metadata.name] or None, 60, "the pod running again")
    finally:
        interruption_queues.ensure_queue_and_rules(ksim.aws("sqs"), events, CLUSTER, wiring=interruption_queues.KARPENTER)


def test_underutilized_nodes_are_consolidated_onto_the_others_room(ksim: Any) -> None:
    core, apps, _, _ = ksim.kube()
    pool = "karp-under"
    _create_pool(ksim, pool, SPOT_4VCPU, {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "30s", "budgets": [{"nodes": "100%"}]})
    ns = namespace(core, "karp-under")

    def serve(name: str, replicas: int) -> list[Any]:
        spec = deployment(name, replicas, "unused", cpu="1500m")
        spec["spec"]["template"]["spec"]["nodeSelector"] = {"pool-under-test": pool}
        apps.create_namespaced_deployment(ns, spec)
        return wait_running(core, ns, name, replicas, 60)

    first = {p.spec.node_name for p in serve("first", 2)}  # two 1.5-CPU pods fill a 4-vCPU node
    second = {p.spec.node_name for p in serve("second", 1)}  # no room beside them: a node of its own
    assert len(first) == 1 and len(second) == 1 and first != second
    # one pod of the first goes: each node now holds 1.5 CPU, and either node's pod fits the other
    apps.patch_namespaced_deployment_scale("first", ns, {"spec": {"replicas": 1}})

    def pool_nodes() -> set[str]:
        return {n.metadata.name for n in core.list_node(label_selector=f"karpenter.sh/nodepool={pool}").items}

    wait_for(lambda: len(pool_nodes()) == 1 or None, 30, "one of the two nodes consolidated away")
    remaining = pool_nodes()
    wait_for(lambda: {p.spec.node_name for p in running_pods(core, ns, "first") + running_pods(core, ns, "second")} == remaining or None, 30,
             "both pods running on the node left")


def test_a_scheduled_change_on_the_queue_deletes_the_claim(ksim: Any) -> None:
    """Karpenter's own e2e case: a hand-made AWS Health event on its queue (service EC2, category
    scheduledChange, the instance as an affected entity) deletes the node."""
    core, _, _, _ = ksim.kube()
    ns = namespace(core, "karp-health")
    (pod,) = _serve(ksim, ns, "planned", 1, cpu="3500m")
    node = core.read_node(pod.spec.node_name)
    claim = next(c for c in _claims(ksim) if c["status"].get("nodeName") == node.metadata.name)
    sqs = ksim.aws("sqs")
    event = {"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "AWS Health Event", "source": "aws.health",
             "account": "123456789012", "time": "2026-11-27T10:00:00Z", "region": "us-east-1", "resources": [],
             "detail": {"service": "EC2", "eventTypeCategory": "scheduledChange", "eventTypeCode": "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
                        "affectedEntities": [{"entityValue": instance_of(node)}]}}
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=CLUSTER)["QueueUrl"], MessageBody=json.dumps(event))
    wait_for(lambda: claim["metadata"]["name"] not in {c["metadata"]["name"] for c in _claims(ksim)} or None, 30, "the claim deleted")
    reasons = {e.reason for e in core.list_namespaced_event("default", field_selector=f"involvedObject.name={node.metadata.name}").items}
    assert "InstanceUnhealthy" in reasons
    wait_for(lambda: [p for p in running_pods(core, ns, "planned") if p.spec.node_name != node.metadata.name] or None, 60, "the pod running elsewhere")
    # the queue is empty: handled messages are deleted
    wait_for(lambda: sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=CLUSTER)["QueueUrl"],
                                              AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0" or None,
             10, "the message deleted")


def test_nodepools_and_nodeclasses_report_ready_and_print_karpenters_columns(ksim: Any) -> None:
    from tests.integration.test_kubectl import kubectl

    core, _, _, _ = ksim.kube()
    # kubectl wait returns: the status conditions are written as Karpenter's status controllers write them
    kubectl(ksim, "wait", "--for=condition=Ready", "ec2nodeclass/default", "--timeout=30s")
    kubectl(ksim, "wait", "--for=condition=Ready", f"nodepool/{POOL}", "--timeout=30s")
    node_class = _custom(ksim).get_cluster_custom_object("karpenter.k8s.aws", "v1", "ec2nodeclasses", "default")
    assert {s["zone"] for s in node_class["status"]["subnets"]} == set(AZS) and node_class["status"]["instanceProfile"]
    ns = namespace(core, "karp-columns")
    _serve(ksim, ns, "cols", 1)

    def pool() -> dict[str, Any]:
        return dict(_custom(ksim).get_cluster_custom_object("karpenter.sh", "v1", "nodepools", POOL))
    wait_for(lambda: pool()["status"].get("nodes", 0) >= 1, 30, "the pool to count its node", describe=lambda: pool().get("status"))
    assert pool()["status"]["resources"]["cpu"]
    header, *rows = kubectl(ksim, "get", "nodepools").stdout.splitlines()
    assert header.split() == ["NAME", "NODECLASS", "NODES", "READY", "AGE"]
    assert next(r for r in rows if r.startswith(POOL)).split()[1:4][0] == "default"
    header = kubectl(ksim, "get", "nodeclaims").stdout.splitlines()[0]
    assert header.split() == ["NAME", "TYPE", "CAPACITY", "ZONE", "NODE", "READY", "AGE"]
    assert kubectl(ksim, "get", "ec2nodeclasses", "-o", "wide").stdout.splitlines()[0].split() == ["NAME", "READY", "AGE", "ROLE"]
