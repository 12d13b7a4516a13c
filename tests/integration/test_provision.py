"""`spotchaos provision` / `teardown` on a simulator of its own: the seed profile comes up with
22 nodes (2 on-demand, as the walkthrough's text says, + 20 Spot), 25 Ready replicas and an ALB
that serves predictions; teardown leaves nothing behind in AWS or Kubernetes.  Bad input is
refused in one line with nothing created."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from cluster.provision import OWNER_TAG
from tests.conftest import start_sim

NAME = "provision-test"


@pytest.fixture(scope="module")
def own_sim(tmp_path_factory):
    # its own metadata port, and a leased address range (the shared simulator, and the same
    # module on another worker, may run at the same time)
    handle = start_sim(tmp_path_factory.mktemp("provsim"), imds={"port": 1340})
    yield handle
    handle.stop()


def spotchaos(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaos.cli", *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def _owned_groups(sim) -> list[str]:
    groups = sim.aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    return [g["AutoScalingGroupName"] for g in groups if any(t["Key"] == OWNER_TAG and t["Value"] == NAME for t in g["Tags"])]


def test_seed_profile_comes_up_serves_and_goes_away(own_sim):
    run = spotchaos("provision", "--profile", "seed", "--name", NAME, "--state-dir", str(own_sim.state_dir), "--timeout", "120")
    assert run.returncode == 0, run.stderr + run.stdout
    url = run.stdout.strip().splitlines()[-1].split("POST ", 1)[1]
    core, apps, _, _ = own_sim.kube()
    nodes = core.list_node().items
    by_group: dict[str, int] = {}
    for n in nodes:
        by_group[n.metadata.labels["eks.amazonaws.com/nodegroup"]] = by_group.get(n.metadata.labels["eks.amazonaws.com/nodegroup"], 0) + 1
    assert by_group == {"ng-ondemand": 2, "prod-4vcpu-16gb-spot": 10, "prod-8vcpu-32gb-spot": 10}
    spot = [n for n in nodes if n.metadata.labels["lifecycle"] == "Ec2Spot"]
    assert all(n.metadata.labels["eks.amazonaws.com/capacityType"] == "SPOT" for n in spot) and len(spot) == 20
    assert len({n.metadata.labels["node.kubernetes.io/instance-type"] for n in spot}) > 2  # diversified, capacity-optimized
    deploy = apps.read_namespaced_deployment("resnet-v1", "default")
    assert deploy.status.ready_replicas == 25
    pods = core.list_namespaced_pod("default", label_selector="app=resnet-service").items
    assert all(nodes_by_name(nodes)[p.spec.node_name].metadata.labels["lifecycle"] == "Ec2Spot" for p in pods)
    reply = requests.post(url, data=json.dumps({"instances": [[0.1, 0.2, 0.3]]}), timeout=10)
    assert reply.status_code == 200 and "predictions" in reply.json()
    assert len(_owned_groups(own_sim)) == 3
    # doctor reads the running cluster (Kubernetes objects and the ASGs) and finds the seed's faults
    check = spotchaos("doctor", "--target", "local", "--state-dir", str(own_sim.state_dir), "--json")
    assert check.returncode == 1, check.stderr
    found = {f["check"] for f in json.loads(check.stdout)["findings"]}
    assert {"no-readiness-probe", "dereg-delay-exceeds-notice", "static-credentials", "nth-keeps-lb-traffic"} <= found
    # the same from a kubeconfig context and AWS as the environment configures it, as on EKS
    # (the simulator's kubeconfig and moto endpoint stand in for a real cluster's)
    env = {"AWS_ENDPOINT_URL": own_sim.endpoints.aws_endpoint_url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    on_eks = spotchaos("doctor", "--target", "eks", "--kubeconfig", own_sim.endpoints.kubeconfig, "--region", own_sim.endpoints.region, "--json", env=env)
    assert on_eks.returncode == 1, on_eks.stderr
    assert {f["check"] for f in json.loads(on_eks.stdout)["findings"]} == found
    # the same AWS calls as on EKS: the control plane, its OIDC provider and the roles exist, tagged
    eks, iam = own_sim.aws("eks"), own_sim.aws("iam")
    assert eks.describe_cluster(name=NAME)["cluster"]["tags"][OWNER_TAG] == NAME
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(NAME)]
    assert {f"{NAME}-eks-cluster", f"{NAME}-node", f"{NAME}-fis", f"{NAME}-cluster-autoscaler"} <= set(roles)
    # the add-ons' identities: service accounts with IRSA role ARNs, RBAC bound to them
    sa = core.read_namespaced_service_account("cluster-autoscaler", "kube-system")
    assert sa.metadata.annotations["eks.amazonaws.com/role-arn"] == iam.get_role(RoleName=f"{NAME}-cluster-autoscaler")["Role"]["Arn"]
    # running it again changes nothing and still succeeds
    again = spotchaos("provision", "--profile", "seed", "--name", NAME, "--state-dir", str(own_sim.state_dir), "--timeout", "60")
    assert again.returncode == 0, again.stderr
    assert len(_owned_groups(own_sim)) == 3
    # another profile under the same name would keep the seed's objects as they are: refused, nothing made
    other = spotchaos("provision", "--profile", "hardened", "--name", NAME, "--state-dir", str(own_sim.state_dir), "--timeout", "60")
    said = " ".join((other.stdout + other.stderr).split())
    assert other.returncode != 0 and f"this simulator holds cluster {NAME}" in said and f"spotchaos teardown --profile seed --name {NAME}" in said, said
    assert len(_owned_groups(own_sim)) == 3 and own_sim.kube()[2].list_namespaced_pod_disruption_budget("default").items == []  # hardened's PDB
    records = [c.metadata.name for c in core.list_namespaced_config_map("kube-system").items]
    assert f"spotchaos-cluster-{NAME}" in records

    down = spotchaos("teardown", "--profile", "seed", "--name", NAME, "--state-dir", str(own_sim.state_dir), "--timeout", "120")
    assert down.returncode == 0, down.stderr + down.stdout
    ec2 = own_sim.aws("ec2")
    owned = [{"Name": f"tag:{OWNER_TAG}", "Values": [NAME]}]
    assert _owned_groups(own_sim) == []
    assert ec2.describe_launch_templates(Filters=owned)["LaunchTemplates"] == []
    assert ec2.describe_subnets(Filters=owned)["Subnets"] == [] and ec2.describe_vpcs(Filters=owned)["Vpcs"] == []
    assert ec2.describe_internet_gateways(Filters=owned)["InternetGateways"] == [] and ec2.describe_security_groups(Filters=owned)["SecurityGroups"] == []
    assert eks.list_clusters()["clusters"] == [] and not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(NAME)]
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert own_sim.aws("elbv2").describe_load_balancers()["LoadBalancers"] == []
    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    assert running == []
    assert core.list_node().items == []
    assert apps.list_namespaced_deployment("default").items == []
    assert apps.list_namespaced_daemon_set("kube-system").items == []
    from kubernetes import client

    # the controller's finalizer came off once the ALB was gone, so the Ingress is gone (not left terminating)
    assert client.NetworkingV1Api(own_sim.kube()[3]).list_ingress_for_all_namespaces().items == []
    assert f"spotchaos-cluster-{NAME}" not in [c.metadata.name for c in core.list_namespaced_config_map("kube-system").items]  # free for another profile
    # tearing down twice is fine
    assert spotchaos("teardown", "--name", NAME, "--state-dir", str(own_sim.state_dir), "--timeout", "30").returncode == 0


def test_karpenter_profile_comes_up_on_karpenters_nodes_passes_doctor_and_goes_away(own_sim):
    from kubernetes import client

    name = "provision-karpenter"
    up = spotchaos("provision", "--profile", "karpenter", "--name", name, "--state-dir", str(own_sim.state_dir), "--timeout", "120")
    assert up.returncode == 0, up.stderr + up.stdout
    core, apps, _, _ = own_sim.kube()
    custom = client.CustomObjectsApi(core.api_client)
    claims = custom.list_cluster_custom_object("karpenter.sh", "v1", "nodeclaims")["items"]
    launched = [n for n in core.list_node().items if n.metadata.labels.get("karpenter.sh/nodepool") == "serving-spot"]
    assert len(claims) == len(launched) >= 7  # 25 pods of 2 CPUs on 4- and 8-vCPU types
    assert {n.metadata.labels["topology.kubernetes.io/zone"] for n in launched} == {"us-east-1a", "us-east-1b", "us-east-1c"}
    pods = core.list_namespaced_pod("serving", label_selector="app=resnet-service").items
    assert len(pods) == 25 and {p.spec.node_name for p in pods} <= {n.metadata.name for n in launched}
    assert own_sim.aws("sqs").get_queue_url(QueueName=name)["QueueUrl"]  # the interruption queue, named after the cluster
    check = spotchaos("doctor", "--target", "local", "--state-dir", str(own_sim.state_dir), "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["findings"] == [], check.stdout
    # teardown: the NodePool first, while Karpenter runs to end its nodes, then the rest
    down = spotchaos("teardown", "--profile", "karpenter", "--name", name, "--state-dir", str(own_sim.state_dir), "--timeout", "120")
    assert down.returncode == 0, down.stderr + down.stdout
    assert custom.list_cluster_custom_object("karpenter.sh", "v1", "nodeclaims")["items"] == []
    running = own_sim.aws("ec2").describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    assert running == [] and core.list_node().items == []
    assert own_sim.aws("sqs").list_queues().get("QueueUrls", []) == []


def nodes_by_name(nodes):
    return {n.metadata.name: n for n in nodes}


@pytest.mark.parametrize(("args", "needle"), [
    (["--profile", "gold"], "unknown profile 'gold'"),
    (["--name", "no spaces allowed"], "not a valid EKS cluster name"),
    (["--profile", "BAD_TYPES"], "unknown instance type 'z9.huge'"),
    (["--profile", "MIN_OVER_MAX"], "min_size 5 is above max_size 3"),
])
def test_bad_input_is_one_line_and_creates_nothing(own_sim, tmp_path, args, needle):
    files = {
        "BAD_TYPES": "node_groups:\n  - {name: odd, instance_types: [m5.xlarge, z9.huge], desired: 2, max_size: 3}\n",
        "MIN_OVER_MAX": "node_groups:\n  - {name: odd, instance_types: [m5.xlarge], desired: 2, min_size: 5, max_size: 3}\n",
    }
    if args[-1] in files:
        path = tmp_path / "profile.yaml"
        path.write_text(files[args[-1]])
        args = [args[0], str(path)]
    before = own_sim.aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    run = spotchaos("provision", *args, "--state-dir", str(own_sim.state_dir))
    assert run.returncode == 3
    assert needle in run.stderr and len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert own_sim.aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"] == before
