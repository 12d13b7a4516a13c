"""FIS's aws:ec2:stop-instances as the simulator runs it (real boto3 against the simulator): EC2
refuses to stop a one-time Spot instance, so the action fails with EC2's words; an on-demand
instance of an Auto Scaling group is stopped, the group terminates and replaces it (outside the
AZ whose launches fail), and the node goes away; a stopped experiment restarts what it stopped
and that is still there."""

from __future__ import annotations

from cluster.waiting import wait_for
from tests.integration.helpers import node_group, wait_ready_nodes
from tests.integration.spot_helpers import instance_of, instance_state, wait_instance_state

ROLE = "arn:aws:iam::123456789012:role/fis"


def _arn(instance: str) -> str:
    return f"arn:aws:ec2:us-east-1:123456789012:instance/{instance}"


def _start(sim, targets, actions) -> str:
    fis = sim.aws("fis")
    template = fis.create_experiment_template(description="stop", roleArn=ROLE, stopConditions=[{"source": "none"}], targets=targets, actions=actions)
    return fis.start_experiment(experimentTemplateId=template["experimentTemplate"]["id"])["experiment"]["id"]


def _stop_action(instances, after="PT5M", complete="true"):
    targets = {"EC2-Instances": {"resourceType": "aws:ec2:instance", "resourceArns": [_arn(i) for i in instances], "selectionMode": "ALL",
                                 "filters": [{"path": "State.Name", "values": ["running"]}]}}
    params = {"startInstancesAfterDuration": after, "completeIfInstancesTerminated": complete}
    return targets, {"Stop-Instances": {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "EC2-Instances"}, "parameters": params}}


def _status(sim, eid):
    return sim.aws("fis").get_experiment(id=eid)["experiment"]


def test_a_one_time_spot_instance_cannot_be_stopped(sim):
    core, *_ = sim.kube()
    node_group(sim, "stop-spot", ("m5.xlarge",), desired=1)
    (node,) = wait_ready_nodes(core, "stop-spot", 1)
    instance = instance_of(node)
    eid = _start(sim, *_stop_action([instance]))
    exp = wait_for(lambda: (lambda e: e if e["state"]["status"] == "failed" else None)(_status(sim, eid)), 30, "experiment failed")
    assert "UnsupportedOperation" in exp["state"]["reason"] and "one-time Spot Instance request" in exp["state"]["reason"]
    assert instance_state(sim, instance)["State"]["Name"] == "running"


def test_a_stopped_group_instance_is_replaced_and_its_node_removed(sim):
    core, *_ = sim.kube()
    asg_name = node_group(sim, "stop-od", ("m5.xlarge",), desired=2, spot=False)
    nodes = wait_ready_nodes(core, "stop-od", 2)
    victim = nodes[0]
    instance = instance_of(victim)
    az = instance_state(sim, instance)["Placement"]["AvailabilityZone"]
    asg_arn = sim.aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    targets, actions = _stop_action([instance])
    targets["ASG"] = {"resourceType": "aws:ec2:autoscaling-group", "resourceArns": [asg_arn], "selectionMode": "ALL"}
    actions["Pause-ASG-Scaling"] = {"actionId": "aws:ec2:asg-insufficient-instance-capacity-error", "targets": {"AutoScalingGroups": "ASG"},
                                    "parameters": {"availabilityZoneIdentifiers": az, "duration": "PT5M", "percentage": "100"}}
    eid = _start(sim, targets, actions)
    try:
        # the group's health check finds it stopped and terminates it
        wait_instance_state(sim, instance, "terminated", 30)
        acts = sim.aws("autoscaling").describe_scaling_activities(AutoScalingGroupName=asg_name)["Activities"]
        assert any(a["Description"] == f"Terminating EC2 instance: {instance}" and "stopped" in a["Cause"] for a in acts)
        wait_for(lambda: victim.metadata.name not in {n.metadata.name for n in core.list_node().items}, 30, "the stopped node deleted")
        # the replacement cannot launch in the powerless AZ
        fresh = wait_for(lambda: [n for n in wait_ready_nodes(core, "stop-od", 2, 60) if n.metadata.name != nodes[1].metadata.name] or None, 60, "replacement")
        assert instance_state(sim, instance_of(fresh[0]))["Placement"]["AvailabilityZone"] != az
        assert _status(sim, eid)["state"]["status"] == "running"
    finally:
        sim.aws("fis").stop_experiment(id=eid)
    # completeIfInstancesTerminated: the post action skips the terminated instance
    assert wait_for(lambda: (lambda e: e if e["state"]["status"] == "stopped" else None)(_status(sim, eid)), 20, "experiment stopped")


def test_stopping_the_experiment_restarts_what_it_stopped(sim):
    ec2 = sim.aws("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    eid = _start(sim, *_stop_action([instance], after="PT10M"))
    wait_instance_state(sim, instance, "stopped", 30)
    sim.aws("fis").stop_experiment(id=eid)
    wait_for(lambda: _status(sim, eid)["state"]["status"] == "stopped", 20, "experiment stopped")
    wait_instance_state(sim, instance, "running", 20)
    ec2.terminate_instances(InstanceIds=[instance])


def test_a_terminated_instance_fails_the_restart_unless_the_template_allows_it(sim):
    ec2 = sim.aws("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    eid = _start(sim, *_stop_action([instance], after="PT1M", complete="false"))
    wait_instance_state(sim, instance, "stopped", 30)
    ec2.terminate_instances(InstanceIds=[instance])
    exp = wait_for(lambda: (lambda e: e if e["state"]["status"] == "failed" else None)(_status(sim, eid)), 30, "experiment failed at the restart")
    assert "completeIfInstancesTerminated" in exp["state"]["reason"]
