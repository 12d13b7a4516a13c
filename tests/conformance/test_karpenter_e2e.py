"""Karpenter's own interruption e2e suite (aws/karpenter-provider-aws test/suites/interruption at
v1.14.1), replayed on the simulator with its assertions: one NodePool, a one-replica deployment
with terminationGracePeriodSeconds 0 on one new node; then a Spot interruption through FIS's
`aws:ec2:send-spot-instance-interruptions` (durationBeforeInterruption PT120S, as the suite's
ExpectSpotInterruptionExperiment builds it), the instance stopped or terminated behind the
cluster's back through the EC2 API, or a scheduled-change AWS Health event put on the queue.
Each time: the node is being deleted within one minute (of cluster time), then gone, and the pod
healthy again.  The suite's reserved-capacity and instance-status-failure cases are not replayed:
the simulator models neither capacity reservations nor status checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from cluster.waiting import wait_for
from tests.integration.helpers import deployment, namespace
from tests.integration.spot_helpers import instance_of
from tests.integration.test_karpenter import CLUSTER, _create_pool, ksim  # noqa: F401 - the fixture: a simulator running Karpenter

pytestmark = pytest.mark.integration

SPOT = [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}, {"key": "karpenter.k8s.aws/instance-cpu", "operator": "In", "values": ["2"]}]
ON_DEMAND = [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
             {"key": "karpenter.k8s.aws/instance-cpu", "operator": "In", "values": ["2"]}]
ONE_MINUTE = 60.0


def _interrupt_through_fis(sim: Any, instance_id: str) -> None:
    iam, fis = sim.aws("iam"), sim.aws("fis")
    role = iam.create_role(RoleName=f"{CLUSTER}-e2e-itn-{instance_id[-6:]}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    template = fis.create_experiment_template(
        description=f"trigger spot ITN for instances [{instance_id}]", roleArn=role, stopConditions=[{"source": "none"}],
        actions={"itn0": {"actionId": "aws:ec2:send-spot-instance-interruptions", "parameters": {"durationBeforeInterruption": "PT120S"},
                          "targets": {"SpotInstances": "itn0"}}},
        targets={"itn0": {"resourceType": "aws:ec2:spot-instance", "selectionMode": "ALL",
                          "resourceArns": [f"arn:aws:ec2:us-east-1:123456789012:instance/{instance_id}"]}})["experimentTemplate"]["id"]
    fis.start_experiment(experimentTemplateId=template)


def _scheduled_change(sim: Any, instance_id: str) -> None:
    """The suite's scheduledChangeMessage: an AWS Health event for EC2, category scheduledChange."""
    sqs = sim.aws("sqs")
    event = {"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "AWS Health Event", "source": "aws.health",
             "account": "000000000000", "time": "2026-12-05T00:00:00Z", "region": "us-east-1", "resources": [],
             "detail": {"eventArn": "arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_STOP_SCHEDULED/e2e", "service": "EC2",
                        "eventTypeCode": "AWS_EC2_INSTANCE_STOP_SCHEDULED", "eventTypeCategory": "scheduledChange",
                        "affectedEntities": [{"entityValue": instance_id}]}}
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=CLUSTER)["QueueUrl"], MessageBody=json.dumps(event))


CASES = {
    "spot-interruption-warning": (SPOT, _interrupt_through_fis),
    "instance-stopped": (ON_DEMAND, lambda sim, iid: sim.aws("ec2").stop_instances(InstanceIds=[iid])),
    "instance-terminated": (ON_DEMAND, lambda sim, iid: sim.aws("ec2").terminate_instances(InstanceIds=[iid])),
    "scheduled-change-health-event": (ON_DEMAND, _scheduled_change),
}


def _healthy(core: Any, ns: str) -> list[Any]:
    return [p for p in core.list_namespaced_pod(ns, label_selector="app=my-app").items
            if p.status.phase == "Running" and p.metadata.deletion_timestamp is None
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]


def _cluster_now(core: Any, ns: str) -> float:
    """Cluster time now, as the API server stamps a fresh object."""
    return core.create_namespaced_config_map(ns, {"metadata": {"generateName": "clock-"}}).metadata.creation_timestamp.timestamp()


@pytest.mark.parametrize("case", list(CASES))
def test_karpenter_upstream_interruption_e2e(ksim: Any, case: str) -> None:  # noqa: F811 - the imported fixture
    core, apps, _, _ = ksim.kube()
    pool = f"e2e-{list(CASES).index(case)}"
    requirements, interrupt = CASES[case]
    _create_pool(ksim, pool, requirements, {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "Never"})
    ns = namespace(core, pool)
    dep = deployment("my-app", 1, pool, cpu="1", extra_spec={"terminationGracePeriodSeconds": 0})
    dep["spec"]["template"]["spec"]["nodeSelector"] = {"pool-under-test": pool}
    apps.create_namespaced_deployment(ns, dep)
    (pod,) = wait_for(lambda: _healthy(core, ns) or None, 60, "a healthy pod on a new node")
    node = core.read_node(pod.spec.node_name)
    assert node.metadata.labels["karpenter.sh/nodepool"] == pool

    sent = _cluster_now(core, ns)
    interrupt(ksim, instance_of(node))

    def deleting() -> Any:
        try:
            current = core.read_node(node.metadata.name)
        except ApiException as exc:
            return "gone" if exc.status == 404 else None
        return current if current.metadata.deletion_timestamp is not None else None

    seen = wait_for(deleting, 30, "the node being deleted")
    if seen != "gone":  # the node is being deleted within one minute of the interruption, on the cluster's clock
        # (both times are the API server's stamps, to the whole second: one second of resolution, not of leeway)
        assert seen.metadata.deletion_timestamp.timestamp() - sent <= ONE_MINUTE + 1, (seen.metadata.deletion_timestamp, sent)
    wait_for(lambda: deleting() == "gone", 60, "the node gone")
    wait_for(lambda: [p for p in _healthy(core, ns) if p.spec.node_name != node.metadata.name] or None, 60, "the pod healthy on another node")

