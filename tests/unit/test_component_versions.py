"""The versions of the parts that decide an interruption's outcome, read from a cluster's images,
and what they change in the trend: a hypothesis that passed on one NTH and failed on another is
an upgrade's effect, not flakiness."""

from __future__ import annotations

from chaos.history.trend import trends
from chaos.run.component_versions import component_versions, image_version


def test_versions_come_from_the_images_repositories():
    images = ["public.ecr.aws/aws-ec2/aws-node-termination-handler:v1.22.0", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.0",
              "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-load-balancer-controller:v2.9.2", "tensorflow/serving:2.16.1",
              "localhost:5000/cluster-autoscaler-extras:v9"]
    assert component_versions("v1.31.2-eks-1", images) == {"kubernetes": "v1.31.2-eks-1", "nth": "v1.22.0", "cluster_autoscaler": "v1.31.0", "lbc": "v2.9.2"}
    mid_upgrade = component_versions(None, ["x/aws-node-termination-handler:v1.22.0", "x/aws-node-termination-handler:v1.21.1"])
    assert mid_upgrade == {"nth": "v1.21.1,v1.22.0"}
    assert image_version("x/aws-node-termination-handler@sha256:abc") == "sha256:abc" and image_version("aws-node-termination-handler") == "latest"
    assert image_version("localhost:5000/aws-node-termination-handler") == "latest"
    # Karpenter's repository is karpenter/controller: a bare "controller" is someone else's
    assert component_versions(None, ["public.ecr.aws/karpenter/controller:1.8.1", "example.com/other/controller:3"]) == {"karpenter": "1.8.1"}


def _row(run: int, status: str, nth: str) -> dict:
    return {"run_id": f"r{run}", "started": f"2026-11-0{run}", "content_hash": "c", "profile": "hardened", "spotchaos_version": "0.1",
            "target": "local", "run_dir": "", "kubernetes_version": "v1.31.2", "nth_version": nth, "cluster_autoscaler_version": None,
            "lbc_version": None, "name": "drained-before-reclaim", "check": "drained-before-reclaim", "status": status, "value": 1.0, "bound": "<= 0s"}


def test_a_result_that_changed_with_a_component_version_is_not_flaky():
    (upgrade,) = trends([_row(1, "pass", "v1.21.0"), _row(2, "fail", "v1.22.0")])
    assert not upgrade.flaky
    (flaky,) = trends([_row(1, "pass", "v1.22.0"), _row(2, "fail", "v1.22.0")])
    assert flaky.flaky and "NTH v1.22.0" in flaky.flaky_on[0] and "Kubernetes v1.31.2" in flaky.flaky_on[0]


def test_a_karpenter_upgrade_tells_a_changed_result_from_a_flaky_one():
    def karpenter(run: int, status: str, version: str) -> dict:
        return {**_row(run, status, ""), "nth_version": None, "profile": "karpenter", "karpenter_version": version}

    (upgrade,) = trends([karpenter(1, "pass", "1.7.0"), karpenter(2, "fail", "1.8.1")])
    assert not upgrade.flaky
    (flaky,) = trends([karpenter(1, "pass", "1.8.1"), karpenter(2, "fail", "1.8.1")])
    assert flaky.flaky and "Karpenter 1.8.1" in flaky.flaky_on[0]
