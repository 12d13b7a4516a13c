"""The twin built in a running simulator from a user's own files (cluster/twin/build.py, what
`spotchaos sim up --from-eksctl F -f DIR` runs once up): the eksctl config's groups become Auto
Scaling groups whose nodes carry their labels and taints, the manifests are applied, and a kind
the simulator does not serve is listed, not fatal."""

from __future__ import annotations

from pathlib import Path

from cluster.twin.build import build_twin
from cluster.twin.inputs import read_inputs
from tests.integration.helpers import wait_ready_nodes, wait_running

EKSCTL = """apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: {name: shop, region: us-east-1}
managedNodeGroups:
  - name: twin-spot
    instanceTypes: [m5.xlarge, m5a.xlarge, m4.xlarge]
    spot: true
    minSize: 1
    desiredCapacity: 2
    maxSize: 4
    labels: {nodegroup-under-test: twin-spot, workload: web}
    taints: [{key: dedicated, value: web, effect: NoSchedule}]
"""

MANIFESTS = """apiVersion: v1
kind: Namespace
metadata: {name: twin-shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: twin-shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {workload: web}
      tolerations: [{key: dedicated, operator: Equal, value: web, effect: NoSchedule}]
      containers: [{name: web, image: nginx, resources: {requests: {cpu: 100m, memory: 64Mi}}}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web, namespace: twin-shop}
spec: {selector: {matchLabels: {app: web}}}
"""


# a cluster of its own in the simulator the integration tests share: its VPC gets addresses of its
# own, so its nodes never take the other clusters' node names (they did, and failed to register)
def test_the_users_node_groups_and_manifests_run_and_an_unknown_kind_is_listed(sim, tmp_path: Path):
    (tmp_path / "cluster.yaml").write_text(EKSCTL)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(MANIFESTS)
    report = build_twin(sim.endpoints, read_inputs(tmp_path / "cluster.yaml", [tmp_path / "k8s"]))
    assert report.node_groups == ["twin-spot: 2 x m5.xlarge, m5a.xlarge, m4.xlarge (Spot)"]
    assert report.created == {"Namespace": 1, "Deployment": 1}
    (monitor,) = report.not_modelled
    assert monitor.startswith("ServiceMonitor (monitoring.coreos.com/v1)") and report.refused == []
    assert any("ServiceMonitor" in line and "does not serve" in line for line in report.lines())
    core, *_ = sim.kube()
    nodes = wait_ready_nodes(core, "twin-spot", 2, timeout=60)
    assert all(n.metadata.labels["eks.amazonaws.com/capacityType"] == "SPOT" and n.metadata.labels["workload"] == "web" for n in nodes)
    assert all(any(t.key == "dedicated" and t.effect == "NoSchedule" for t in n.spec.taints or []) for n in nodes)
    pods = wait_running(core, "twin-shop", "web", 2, timeout=60)
    assert {p.spec.node_name for p in pods} <= {n.metadata.name for n in nodes}
    def count_groups() -> int:
        pages = sim.aws("autoscaling").get_paginator("describe_auto_scaling_groups").paginate()
        return sum(len(page["AutoScalingGroups"]) for page in pages)

    groups = count_groups()
    # built twice (a build cut short, built again): the group launched is kept, what exists is left as it is
    again = build_twin(sim.endpoints, read_inputs(tmp_path / "cluster.yaml", [tmp_path / "k8s"]))
    assert again.created == {} and again.existing == 2 and again.groups == report.groups
    assert count_groups() == groups


CUSTOM = """apiVersion: kits.twin.example.com/v1
kind: Kit
metadata: {name: starter, namespace: default}
spec: {parts: 3}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: kits.kits.twin.example.com}
spec:
  group: kits.twin.example.com
  scope: Namespaced
  names: {plural: kits, kind: Kit}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: twin-kit-pool}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: twin-kit}
      requirements: [{key: karpenter.sh/capacity-type, operator: In, values: [spot]}]
"""


def test_crds_go_on_before_their_objects_and_karpenters_are_installed_when_left_out(sim, tmp_path: Path):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "kits.yaml").write_text(CUSTOM)  # the object before its CRD, as a directory's files may come
    report = build_twin(sim.endpoints, read_inputs(None, [tmp_path / "k8s"]))
    assert report.crds_installed == ["nodepools.karpenter.sh", "nodeclaims.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"]
    assert report.refused == [] and report.not_modelled == {}
    assert report.created.get("Kit") == 1 and report.created.get("NodePool") == 1
    assert any("installed Karpenter's CRDs" in line and "helm template" in line for line in report.lines())
    from kubernetes import client

    custom = client.CustomObjectsApi(sim.kube()[3])
    assert custom.get_namespaced_custom_object("kits.twin.example.com", "v1", "default", "kits", "starter")["spec"] == {"parts": 3}
    assert custom.get_cluster_custom_object("karpenter.sh", "v1", "nodepools", "twin-kit-pool")["metadata"]["name"] == "twin-kit-pool"
