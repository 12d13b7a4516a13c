"""Auto Scaling groups created through boto3 become Kubernetes nodes the way EKS names and labels them."""

from __future__ import annotations

import re
from collections import Counter

from cluster.nodegroups import SEED_4VCPU
from cluster.waiting import wait_for
from tests.integration.helpers import node_group, wait_ready_nodes


def test_spot_asg_launches_diversified_instances_that_become_labelled_nodes(sim):
    core, *_ = sim.kube()
    asg_name = node_group(sim, "prod-4vcpu-16gb-spot", SEED_4VCPU, desired=6, labels={"lifecycle": "Ec2Spot", "intent": "apps"})
    nodes = wait_ready_nodes(core, "prod-4vcpu-16gb-spot", 6)

    ec2 = sim.aws("ec2")
    # Real EC2 supports the instance-lifecycle filter (moto alone answers HTTP 500).
    spot = ec2.describe_instances(Filters=[{"Name": "instance-lifecycle", "Values": ["spot"]}, {"Name": "tag:aws:autoscaling:groupName", "Values": [asg_name]}])
    instances = [i for r in spot["Reservations"] for i in r["Instances"]]
    assert len(instances) == 6 and all(i["InstanceLifecycle"] == "spot" for i in instances)
    # AZ balance first, then capacity-optimized pools inside each AZ.
    assert Counter(i["Placement"]["AvailabilityZone"] for i in instances) == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
    assert len({i["InstanceType"] for i in instances}) >= 2, "capacity-optimized spreads over the pools with most spare capacity"
    by_id = {i["InstanceId"]: i for i in instances}

    for node in nodes:
        labels = node.metadata.labels
        m = re.fullmatch(r"aws:///(us-east-1[abc])/(i-[0-9a-f]+)", node.spec.provider_id)
        assert m, node.spec.provider_id
        inst = by_id[m.group(2)]
        assert node.metadata.name == inst["PrivateDnsName"]
        assert labels["node.kubernetes.io/instance-type"] == inst["InstanceType"]
        assert labels["topology.kubernetes.io/zone"] == m.group(1) == inst["Placement"]["AvailabilityZone"]
        assert labels["eks.amazonaws.com/capacityType"] == "SPOT"
        assert labels["eks.amazonaws.com/nodegroup"] == "prod-4vcpu-16gb-spot"
        assert labels["lifecycle"] == "Ec2Spot" and labels["intent"] == "apps"
        # EKS AMI reservations: 4 vCPU -> 3920m allocatable, max pods 58 (44 on t2.xlarge).
        assert node.status.allocatable["cpu"] == "3920m"
        assert node.status.allocatable["pods"] in ("58", "44")
        assert node.spec.pod_cidr.startswith("127.")
        assert not any(t.key == "node.kubernetes.io/not-ready" for t in node.spec.taints or [])


def test_on_demand_group_and_node_template_taints(sim):
    core, *_ = sim.kube()
    asg = sim.aws("autoscaling")
    name = node_group(sim, "control-apps", ("t3.medium",), desired=2, spot=False, labels={"lifecycle": "OnDemand", "intent": "control-apps"})
    asg.create_or_update_tags(Tags=[{"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": "k8s.io/cluster-autoscaler/node-template/taint/dedicated", "Value": "control:NoSchedule", "PropagateAtLaunch": False}])
    # Tags apply to nodes that register after the change: scale up by one and check the new node.
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=3)
    nodes = wait_ready_nodes(core, "control-apps", 3)
    assert all(n.metadata.labels["eks.amazonaws.com/capacityType"] == "ON_DEMAND" for n in nodes)
    assert all(n.status.allocatable["cpu"] == "1930m" for n in nodes)
    tainted = [n for n in nodes if any(t.key == "dedicated" and t.value == "control" and t.effect == "NoSchedule" for t in n.spec.taints or [])]
    assert len(tainted) >= 1
    acts = asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
    assert sum(a["Description"].startswith("Launching a new EC2 instance: i-") for a in acts) == 3


def test_empty_capacity_pool_gives_insufficient_capacity_activity(tmp_path):
    from tests.conftest import start_sim
    from tests.integration.helpers import node_group as make_group

    pools = [{"instance_type": "m5.xlarge", "availability_zone": az, "spare": 1} for az in ("us-east-1a", "us-east-1b", "us-east-1c")]
    handle = start_sim(tmp_path, pools=pools, node_address_octet=70)
    try:
        name = make_group(handle, "tiny", ("m5.xlarge",), desired=5)
        asg = handle.aws("autoscaling")
        acts = wait_for(lambda: [a for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"] if a["StatusCode"] == "Failed"], 10, "a failed launch")
        assert "We currently do not have sufficient m5.xlarge capacity" in acts[0]["StatusMessage"]
        group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
        assert len(group["Instances"]) == 3 and group["DesiredCapacity"] == 5
    finally:
        handle.stop()
