"""ServiceAccounts as on a real cluster, through the Kubernetes client: every namespace has a
`default` ServiceAccount and the `kube-root-ca.crt` ConfigMap, and a pod gets its projected
kube-api-access volume mounted in every container (so `spec.volumes` is never null for a client
that walks a pod's volumes before evicting it), unless it opts out."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.waiting import wait_for
from tests.integration.helpers import namespace

pytestmark = pytest.mark.integration


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}, {"name": "b", "image": "busybox:1.36"}],
                                                  "initContainers": [{"name": "init", "image": "busybox:1.36"}], **spec}}


def test_every_namespace_has_its_default_service_account_and_pods_mount_a_token(sim: Any) -> None:
    core = sim.kube()[0]
    ns = namespace(core, "sa-test")
    wait_for(lambda: [a for a in core.list_namespaced_service_account(ns).items if a.metadata.name == "default"], 20, "the default ServiceAccount")
    (root_ca,) = wait_for(lambda: [c for c in core.list_namespaced_config_map(ns).items if c.metadata.name == "kube-root-ca.crt"], 20,
                          "the root CA ConfigMap")
    assert "ca.crt" in root_ca.data
    assert core.read_namespaced_service_account("default", "kube-system").metadata.name == "default"

    pod = core.create_namespaced_pod(ns, _pod("mounted"))
    (volume,) = pod.spec.volumes
    assert volume.name.startswith("kube-api-access-") and len(volume.name) == len("kube-api-access-") + 5
    sources = volume.projected.sources
    assert sources[0].service_account_token.expiration_seconds == 3607 and sources[0].service_account_token.path == "token"
    assert sources[1].config_map.name == "kube-root-ca.crt" and sources[2].downward_api.items[0].field_ref.field_path == "metadata.namespace"
    for c in [*pod.spec.containers, *pod.spec.init_containers]:
        assert [(m.name, m.mount_path, m.read_only) for m in c.volume_mounts] == [(volume.name, "/var/run/secrets/kubernetes.io/serviceaccount", True)]
    assert pod.spec.service_account_name == "default" and pod.spec.service_account == "default"

    opted_out = core.create_namespaced_pod(ns, _pod("no-token", automountServiceAccountToken=False))
    assert opted_out.spec.volumes is None
