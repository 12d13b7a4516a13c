"""Managed node groups as the EKS API shows them, through the AWS CLI: an Auto Scaling group
tagged as EKS tags the groups it manages is listed by `aws eks list-nodegroups` and described by
`describe-nodegroup` (its sizes, instance types, capacity type, Auto Scaling group); a cluster
the EKS API does not know is ResourceNotFoundException (moto answered 500)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.helpers import node_group
from tests.support.awscli import aws

pytestmark = pytest.mark.integration


def test_managed_groups_are_node_groups_of_the_eks_api(sim: Any) -> None:
    eks = sim.aws("eks")
    eks.create_cluster(name="mng-cli", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": []})
    asg = node_group(sim, "mng-cli-spot", ("m5.large", "m5a.large"), 2, tags={"eks:cluster-name": "mng-cli", "eks:nodegroup-name": "spot-workers"})
    node_group(sim, "mng-cli-self", ("m5.large",), 1)  # not managed: not listed

    listed = aws(sim, "eks", "list-nodegroups", "--cluster-name", "mng-cli")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["nodegroups"] == ["spot-workers"]
    described = aws(sim, "eks", "describe-nodegroup", "--cluster-name", "mng-cli", "--nodegroup-name", "spot-workers")
    assert described.returncode == 0, described.stderr
    ng = json.loads(described.stdout)["nodegroup"]
    assert ng["capacityType"] == "SPOT" and ng["instanceTypes"] == ["m5.large", "m5a.large"] and ng["status"] == "ACTIVE"
    assert ng["scalingConfig"]["desiredSize"] == 2 and ng["resources"]["autoScalingGroups"] == [{"name": asg}]
    again = json.loads(aws(sim, "eks", "describe-nodegroup", "--cluster-name", "mng-cli", "--nodegroup-name", "spot-workers").stdout)["nodegroup"]
    assert again["nodegroupArn"] == ng["nodegroupArn"]  # one node group, not a new one per call

    missing = aws(sim, "eks", "list-nodegroups", "--cluster-name", "no-such-cluster")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr, missing.stderr
