"""Managed node groups as the EKS API shows them, through the AWS CLI: an Auto Scaling group
tagged as EKS tags the groups it manages is listed by `aws eks list-nodegroups` and described by
`describe-nodegroup` (its sizes, instance types, capacity type, Auto Scaling group); a cluster
the EKS API does not know is ResourceNotFoundException (moto answered 500)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.integration.helpers import node_group

pytestmark = pytest.mark.integration


def _aws(sim: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": sim.endpoints.aws_endpoint_url, "AWS_DEFAULT_REGION": sim.endpoints.region, "AWS_MAX_ATTEMPTS": "1"}
    return subprocess.run(["aws", *args], capture_output=True, text=True, env=env, timeout=60)


def test_managed_groups_are_node_groups_of_the_eks_api(sim: Any) -> None:
    eks = sim.aws("eks")
    eks.create_cluster(name="mng-cli", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": []})
    asg = node_group(sim, "mng-cli-spot", ("m5.large", "m5a.large"), 2, tags={"eks:cluster-name": "mng-cli", "eks:nodegroup-name": "spot-workers"})
    node_group(sim, "mng-cli-self", ("m5.large",), 1)  # not managed: not listed

    listed = _aws(sim, "eks", "list-nodegroups", "--cluster-name", "mng-cli")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["nodegroups"] == ["spot-workers"]
    described = _aws(sim, "eks", "describe-nodegroup", "--cluster-name", "mng-cli", "--nodegroup-name", "spot-workers")
    assert described.returncode == 0, described.stderr
    ng = json.loads(described.stdout)["nodegroup"]
    assert ng["capacityType"] == "SPOT" and ng["instanceTypes"] == ["m5.large", "m5a.large"] and ng["status"] == "ACTIVE"
    assert ng["scalingConfig"]["desiredSize"] == 2 and ng["resources"]["autoScalingGroups"] == [{"name": asg}]
    again = json.loads(_aws(sim, "eks", "describe-nodegroup", "--cluster-name", "mng-cli", "--nodegroup-name", "spot-workers").stdout)["nodegroup"]
    assert again["nodegroupArn"] == ng["nodegroupArn"]  # one node group, not a new one per call

    missing = _aws(sim, "eks", "list-nodegroups", "--cluster-name", "no-such-cluster")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr, missing.stderr
