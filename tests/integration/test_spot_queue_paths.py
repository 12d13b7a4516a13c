"""The FIS and SQS injection paths, read by NTH in queue-processor mode (a Deployment configured
by env vars) through EventBridge and SQS; FIS experiment states, stop conditions and template
validation as FIS gives them."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from cluster.manifests.nth import queue_deployment
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
    instance_state,
    node_events,
    nth_queue,
    nth_running,
    pods_on,
    tag_managed,
    wait_instance_state,
)

ROLE = "arn:aws:iam::123456789012:role/fis-spot"
ARN = "arn:aws:ec2:us-east-1:123456789012:instance/{}"


def _spot_template(fis, targets, duration="PT2M", stop_conditions=None, **action_extra):
    return fis.create_experiment_template(
        description="spot interruption", roleArn=ROLE, stopConditions=stop_conditions or [{"source": "none"}],
        targets=targets,
        actions={"interrupt": {"actionId": "aws:ec2:send-spot-instance-interruptions", "parameters": {"durationBeforeInterruption": duration},
                               "targets": {"SpotInstances": "spot"}, **action_extra}},
        tags={"spotchaos:run": "test"},
    )["experimentTemplate"]


def _setup(sim, group, desired, *, managed=True, settings=None):
    core, apps, _, _ = sim.kube()
    asg_name = node_group(sim, group, ("m5.xlarge", "m5a.xlarge"), desired=desired)
    if managed:
        tag_managed(sim, asg_name)
    nodes = wait_ready_nodes(core, group, desired)
    ns = namespace(core, group)
    queue = nth_queue(sim, f"{group}-nth")
    nth = {"EMIT_KUBERNETES_EVENTS": True, "TAINT_NODE": True, "AWS_REGION": sim.endpoints.region, **(settings or {})}
    apps.create_namespaced_deployment(ns, queue_deployment(queue, nth, namespace=ns, node_selector={"nodegroup-under-test": group}))
    nth_running(core, ns, 1)
    return core, apps, asg_name, nodes, ns, queue


def test_fis_interruption_through_eventbridge_drains_and_replaces(sim):
    core, apps, asg_name, nodes, ns, _ = _setup(sim, "fis-queue", 3)
    apps.create_namespaced_deployment(ns, deployment("web", 4, "fis-queue", cpu="250m"))
    wait_running(core, ns, "web", 4)
    nth_node = next(p.spec.node_name for p in core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=aws-node-termination-handler").items)
    victim = next(n for n in nodes if n.metadata.name != nth_node)
    iid = instance_of(victim)

    fis = sim.aws("fis")
    template = _spot_template(fis, {"spot": {"resourceType": "aws:ec2:spot-instance", "resourceArns": [ARN.format(iid)], "selectionMode": "ALL"}})
    experiment = fis.start_experiment(experimentTemplateId=template["id"], tags={"spotchaos:run": "test"})["experiment"]
    seen = []

    def state():
        exp = fis.get_experiment(id=experiment["id"])["experiment"]
        s = exp["state"]["status"]
        if not seen or seen[-1] != s:
            seen.append(s)
        return exp if s in ("completed", "failed", "stopped") else None

    wait_for(lambda: state() or (seen[-1] == "running" and seen), 20, "experiment running")
    resolved = fis.list_experiment_resolved_targets(experimentId=experiment["id"])["resolvedTargets"]
    assert [r["targetInformation"]["arn"] for r in resolved] == [ARN.format(iid)]

    def drained():
        node = core.read_node(victim.metadata.name)
        web = [p for p in pods_on(core, ns, victim.metadata.name) if p.metadata.labels.get("app") == "web"]
        return node if node.spec.unschedulable and not web else None

    wait_for(drained, 30, "node cordoned and drained by queue-mode NTH")
    assert instance_state(sim, iid)["State"]["Name"] == "running"  # the notice comes before the reclaim

    def tainted() -> bool:
        # this test's NTH taints; on the shared simulator another test's queue-mode NTH gets the same
        # EventBridge warning and may have cordoned the node first, so the taint may come a moment later
        return any(t.key == "aws-node-termination-handler/spot-itn" and t.value.startswith("spot-itn-event-")
                   for t in core.read_node(victim.metadata.name).spec.taints or [])

    wait_for(tainted, 10, "NTH's spot-itn taint on the node", describe=lambda: core.read_node(victim.metadata.name).spec.taints)
    wait_for(lambda: {"SQSTermination", "PreDrain", "CordonAndDrain"} <= set(node_events(core, victim.metadata.name)), 10, "NTH's events on the node",
             describe=lambda: node_events(core, victim.metadata.name))
    done = wait_for(state, 30, "experiment completed")
    assert done["state"]["status"] == "completed" and done["actions"]["interrupt"]["state"]["status"] == "completed"
    # polled, so a short state may be missed: what was seen follows FIS's lifecycle, through running
    lifecycle = ["pending", "initiating", "running", "completed"]
    assert "running" in seen and [lifecycle.index(s) for s in seen] == sorted({lifecycle.index(s) for s in seen}), seen
    gone = wait_instance_state(sim, iid, "terminated", timeout=10)
    assert gone["StateReason"]["Code"] == "Server.SpotInstanceTermination"
    wait_for(lambda: [n for n in wait_ready_nodes(core, "fis-queue", 3, timeout=60) if n.metadata.name not in {m.metadata.name for m in nodes}], 60,
             "replacement node Ready")
    wait_running(core, ns, "web", 4)
    acts = sim.aws("autoscaling").describe_scaling_activities(AutoScalingGroupName=asg_name)["Activities"]
    assert any(a["Description"] == f"Terminating EC2 instance: {iid}" and "Spot interruption" in a["Cause"] for a in acts)


def test_sqs_path_honours_the_managed_tag_and_skips_malformed_messages(sim):
    core, _, _, nodes, ns, queue = _setup(sim, "sqs-managed", 1)
    asg_unmanaged = node_group(sim, "sqs-unmanaged", ("m5.xlarge",), desired=1)
    other = wait_ready_nodes(core, "sqs-unmanaged", 1)[0]
    assert asg_unmanaged
    sqs = sim.aws("sqs")

    def warning(instance_id, az):
        return json.dumps({
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "EC2 Spot Instance Interruption Warning", "source": "aws.ec2",
            "account": "123456789012", "time": core.create_namespaced_config_map("default", {"metadata": {"generateName": "t-"}}).metadata.creation_timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1", "resources": [f"arn:aws:ec2:{az}:instance/{instance_id}"],
            "detail": {"instance-id": instance_id, "instance-action": "terminate"},
        })

    sqs.send_message(QueueUrl=queue, MessageBody="this is not an event")
    sqs.send_message(QueueUrl=queue, MessageBody=warning(instance_of(other), other.metadata.labels["topology.kubernetes.io/zone"]))
    managed = nodes[0]
    sqs.send_message(QueueUrl=queue, MessageBody=warning(instance_of(managed), managed.metadata.labels["topology.kubernetes.io/zone"]))

    wait_for(lambda: core.read_node(managed.metadata.name).spec.unschedulable, 20, "managed node cordoned")
    # the same batch was read: the unmanaged instance's node is left alone, the bad message was logged and skipped
    assert not core.read_node(other.metadata.name).spec.unschedulable
    log = sim.log_path.read_text()
    assert "nth_ignoring_event_due_to_error" in log and "nth_instance_not_managed" in log
    # the SQS path does not reclaim anything by itself; asked to, the ASG replaces the instance
    assert instance_state(sim, instance_of(managed))["State"]["Name"] == "running"
    assert control(sim, f"/v1/instances/{instance_of(managed)}/reclaim", {})[0] == 201
    wait_for(lambda: [n for n in wait_ready_nodes(core, "sqs-managed", 1, timeout=60) if n.metadata.name != managed.metadata.name], 60,
             "replacement node Ready")


def test_fis_stop_condition_stops_the_experiment_before_the_notice(sim):
    node_group(sim, "fis-stop", ("m5.xlarge",), desired=1)
    core, _, _, _ = sim.kube()
    node = wait_ready_nodes(core, "fis-stop", 1)[0]
    iid = instance_of(node)
    cw, fis = sim.aws("cloudwatch"), sim.aws("fis")
    cw.put_metric_alarm(AlarmName="serving-5xx", MetricName="HTTPCode_ELB_5XX_Count", Namespace="AWS/ApplicationELB", Statistic="Sum",
                        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    alarm_arn = cw.describe_alarms(AlarmNames=["serving-5xx"])["MetricAlarms"][0]["AlarmArn"]
    template = _spot_template(fis, {"spot": {"resourceType": "aws:ec2:spot-instance", "resourceTags": {"aws:autoscaling:groupName": "eks-TensorFlowServingCluster-fis-stop"},
                                             "filters": [{"path": "State.Name", "values": ["running"]}], "selectionMode": "COUNT(1)"}},
                              duration="PT15M", stop_conditions=[{"source": "aws:cloudwatch:alarm", "value": alarm_arn}])
    exp_id = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]
    wait_for(lambda: fis.get_experiment(id=exp_id)["experiment"]["state"]["status"] == "running", 20, "experiment running")
    cw.set_alarm_state(AlarmName="serving-5xx", StateValue="ALARM", StateReason="5xx over the SLO")
    exp = wait_for(lambda: (lambda e: e if e["state"]["status"] == "stopped" else None)(fis.get_experiment(id=exp_id)["experiment"]), 20, "experiment stopped")
    assert "stop condition" in exp["state"]["reason"]
    assert exp["actions"]["interrupt"]["state"]["status"] == "stopped"
    assert instance_state(sim, iid)["State"]["Name"] == "running"


def test_stop_experiment_and_empty_targets(sim):
    fis = sim.aws("fis")
    template = _spot_template(fis, {"spot": {"resourceType": "aws:ec2:spot-instance", "resourceTags": {"no-such": "tag"}, "selectionMode": "ALL"}})
    exp_id = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]
    exp = wait_for(lambda: (lambda e: e if e["state"]["status"] == "failed" else None)(fis.get_experiment(id=exp_id)["experiment"]), 20, "experiment failed")
    assert "empty" in exp["state"]["reason"]

    wait_only = fis.create_experiment_template(description="wait", roleArn=ROLE, stopConditions=[{"source": "none"}],
                                               actions={"pause": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1H"}}})["experimentTemplate"]
    exp_id = fis.start_experiment(experimentTemplateId=wait_only["id"])["experiment"]["id"]
    wait_for(lambda: fis.get_experiment(id=exp_id)["experiment"]["state"]["status"] == "running", 20, "experiment running")
    fis.stop_experiment(id=exp_id)
    exp = wait_for(lambda: (lambda e: e if e["state"]["status"] == "stopped" else None)(fis.get_experiment(id=exp_id)["experiment"]), 20, "experiment stopped")
    assert exp["actions"]["pause"]["state"]["status"] == "stopped" and exp.get("endTime")


@pytest.mark.parametrize(("action", "targets", "needle"), [
    ({"actionId": "aws:ec2:reboot-the-world", "targets": {"SpotInstances": "spot"}}, None, "not supported"),
    ({"actionId": "aws:ec2:send-spot-instance-interruptions", "parameters": {"durationBeforeInterruption": "PT1M"}, "targets": {"SpotInstances": "spot"}}, None, "PT2M"),
    ({"actionId": "aws:ec2:send-spot-instance-interruptions", "parameters": {"durationBeforeInterruption": "two minutes"}, "targets": {"SpotInstances": "spot"}}, None, "ISO 8601"),
    ({"actionId": "aws:ec2:send-spot-instance-interruptions", "parameters": {"durationBeforeInterruption": "PT2M"}, "targets": {"SpotInstances": "spot"}},
     {"spot": {"resourceType": "aws:ec2:instance", "resourceTags": {"a": "b"}, "selectionMode": "ALL"}}, "resource type"),
    ({"actionId": "aws:ec2:send-spot-instance-interruptions", "parameters": {"durationBeforeInterruption": "PT2M"}, "targets": {"SpotInstances": "spot"}},
     {"spot": {"resourceType": "aws:ec2:spot-instance", "resourceTags": {"a": "b"}, "selectionMode": "SOME"}}, "selectionMode"),
])
def test_invalid_templates_are_refused_as_fis_does(sim, action, targets, needle):
    fis = sim.aws("fis")
    targets = targets or {"spot": {"resourceType": "aws:ec2:spot-instance", "resourceTags": {"a": "b"}, "selectionMode": "ALL"}}
    with pytest.raises(ClientError) as err:
        fis.create_experiment_template(description="bad", roleArn=ROLE, stopConditions=[{"source": "none"}], targets=targets, actions={"a": action})
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert needle in err.value.response["Error"]["Message"]
