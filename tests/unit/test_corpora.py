"""The public corpora (tests/corpora/README.md) read as the twin reads them: every file parses,
the node groups and add-ons are found, and nothing the twin needs is refused.  The experiments
that run them are experiments/corpus-*.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cluster.aws import interruption_queues
from cluster.twin.build import is_helm_test, queues_read
from cluster.twin.inputs import read_inputs
from cluster.twin.node_groups import twin_cluster

CORPORA = Path(__file__).parents[1] / "corpora"
ADDONS = [CORPORA / "addons" / "aws-node-termination-handler.yaml", CORPORA / "addons" / "aws-load-balancer-controller.yaml"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kustomize directories are built by kubectl kustomize")
def test_the_eks_workshop_reads_whole() -> None:
    read = read_inputs(CORPORA / "eks-workshop" / "cluster.yaml", ADDONS, [CORPORA / "eks-workshop" / "twin" / "spot-catalog"])
    cluster = twin_cluster(read.cluster_configs[0].obj)
    assert cluster.name == "retail-store" and cluster.zones == ("us-west-2a", "us-west-2b", "us-west-2c")
    groups = {g.name: g for g in cluster.groups}
    assert groups["default"].spot is False and groups["default"].desired == 3
    assert groups["managed-spot"].spot is True and groups["managed-spot"].instance_types[0] == "c5.large"
    kinds = {s.kind for s in read.objects}
    assert {"StatefulSet", "Deployment", "DaemonSet", "Ingress", "Service"} <= kinds
    catalog = next(s.obj for s in read.objects if s.kind == "Deployment" and s.obj["metadata"]["name"] == "catalog")
    assert catalog["spec"]["template"]["spec"]["nodeSelector"] == {"eks.amazonaws.com/capacityType": "SPOT"}  # the Spot module's patch
    groups_named = {(s.obj["metadata"].get("annotations") or {}).get("alb.ingress.kubernetes.io/group.name") for s in read.objects if s.kind == "Ingress"}
    assert groups_named == {"retail-app-group"}
    assert queues_read(read) == []  # NTH in IMDS mode reads no queue


def test_karpenters_getting_started_reads_whole_and_names_its_queue() -> None:
    folder = CORPORA / "karpenter-getting-started"
    read = read_inputs(folder / "cluster.yaml", [CORPORA / "addons" / "karpenter.yaml", folder / "nodepool-spot.yaml", folder / "retail-ui.yaml"])
    cluster = twin_cluster(read.cluster_configs[0].obj)
    assert cluster.tags == {"karpenter.sh/discovery": "retail-store"}  # on the subnets, where the EC2NodeClass looks
    assert [g.name for g in cluster.groups] == ["retail-store-ng"]
    assert queues_read(read) == [(interruption_queues.KARPENTER, "retail-store")]
    assert [s.obj["metadata"]["name"] for s in read.objects if is_helm_test(s.obj)] == ["ui-test-connection"]
    assert {"NodePool", "EC2NodeClass", "PodDisruptionBudget", "Ingress"} <= {s.kind for s in read.objects}
