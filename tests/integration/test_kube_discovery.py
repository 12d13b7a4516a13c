"""What the harness reads of a cluster's kinds is what the cluster serves now, not what an
earlier API server at the same address served (the kubernetes client's DynamicClient keeps its
discovery in a file named after the URL alone).  Real HTTP to a simulator of the test's own."""

from __future__ import annotations

from pathlib import Path

import yaml
from kubernetes import client

from chaos.kube.cluster_objects import cluster_objects
from cluster.waiting import wait_for
from tests.conftest import start_sim

NODEPOOL_CRD = Path(__file__).parents[2] / "cluster/manifests/karpenter_crds/karpenter.sh_nodepools.yaml"


def test_a_kind_the_cluster_stopped_serving_is_not_listed_from_an_earlier_discovery(tmp_path: Path) -> None:
    sim = start_sim(tmp_path / "sim")
    try:
        api = sim.kube()[3]
        extensions = client.ApiextensionsV1Api(api)
        crd = yaml.safe_load(NODEPOOL_CRD.read_text())
        extensions.create_custom_resource_definition(crd)
        pool = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "spot"},
                "spec": {"template": {"spec": {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                                               "requirements": []}}}}
        client.CustomObjectsApi(api).create_cluster_custom_object("karpenter.sh", "v1", "nodepools", pool)
        before = cluster_objects(sim.endpoints)
        assert [o["metadata"]["name"] for o in before if o["kind"] == "NodePool"] == ["spot"]

        extensions.delete_custom_resource_definition(crd["metadata"]["name"])

        def gone() -> bool:
            served = client.ApisApi(api).get_api_versions().groups or []
            return not any(g.name == "karpenter.sh" for g in served)

        wait_for(gone, 30, "karpenter.sh to stop being served")
        after = cluster_objects(sim.endpoints)  # raised 404 Not Found when the kinds came from the earlier discovery
        assert after == [o for o in before if o["kind"] != "NodePool"]
    finally:
        sim.stop()
