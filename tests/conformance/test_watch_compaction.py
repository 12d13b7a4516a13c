"""Compaction as kube-apiserver's compactor does it for EKS, on a simulator whose interval is
short: until compacted, a list at an exact old resourceVersion shows the objects as they were and
a watch from it replays; once compacted, both are 410 Expired, so informers relist (the Python
client's watch raises it); a resourceVersion that is not one is a 400, not a 500.  Through the
Python kubernetes client."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from cluster.waiting import wait_for
from tests.conftest import start_sim

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def compacting(tmp_path_factory: Any) -> Any:
    sim = start_sim(tmp_path_factory.mktemp("compaction"), compaction_interval=60.0)  # cluster seconds: 3 s real at speed 20
    yield client.CoreV1Api(config.new_client_from_config(config_file=sim.endpoints.kubeconfig))
    sim.stop()


def _gone(call: Any) -> bool:
    try:
        call()
    except ApiException as exc:
        return exc.status == 410
    return False


def test_old_versions_answer_until_compacted_then_410(compacting: Any) -> None:
    core = compacting
    core.create_namespaced_config_map("default", {"metadata": {"name": "history"}, "data": {"v": "1"}})
    old = core.list_namespaced_config_map("default").metadata.resource_version
    for v in ("2", "3"):
        core.patch_namespaced_config_map("history", "default", {"data": {"v": v}})

    then = core.list_namespaced_config_map("default", resource_version=old, resource_version_match="Exact")
    assert then.metadata.resource_version == old and [c.data["v"] for c in then.items if c.metadata.name == "history"] == ["1"]
    assert [c.data["v"] for c in core.list_namespaced_config_map("default").items if c.metadata.name == "history"] == ["3"]

    def exact() -> Any:
        return core.list_namespaced_config_map("default", resource_version=old, resource_version_match="Exact")

    def watch_from_old() -> Any:
        return list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=1))

    wait_for(lambda: _gone(exact), 30, "the exact list at the old version to be compacted away")
    assert _gone(watch_from_old)
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_config_map("default", resource_version="not-a-version", resource_version_match="NotOlderThan")
    assert bad.value.status == 400 and "invalid resource version" in bad.value.body
    with pytest.raises(ApiException) as ahead:
        core.list_namespaced_config_map("default", resource_version=str(int(old) + 10**9), resource_version_match="NotOlderThan")
    assert ahead.value.status == 504 and "Too large resource version" in ahead.value.body
