"""The store's compaction and lists at an exact version (cluster/sim/kube/store.py): the version
a compaction reaches is the one seen at the previous compaction, a list at a version undoes the
kind's later writes, and what is compacted away is 410."""

from __future__ import annotations

import pytest

from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.resources import RESOURCES
from cluster.sim.kube.store import ObjectStore

CM = next(r for r in RESOURCES if r.kind == "ConfigMap")


def _cm(name: str, v: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, "data": {"v": v}}


def test_a_list_at_a_version_shows_the_objects_as_they_were() -> None:
    store = ObjectStore(100)
    store.insert(CM, _cm("a", "1"))
    at = store.resource_version
    store.replace(CM, _cm("a", "2"))
    store.insert(CM, _cm("b", "1"))
    assert [(o["metadata"]["name"], o["data"]["v"]) for o in store.list_at(CM, None, None, at)] == [("a", "1")]
    store.remove(CM, "default", "a")
    assert [o["data"]["v"] for o in store.list_at(CM, "default", None, at)] == ["1"]
    assert store.list_at(CM, None, None, store.resource_version) == store.list(CM)
    with pytest.raises(ApiError) as ahead:
        store.list_at(CM, None, None, store.resource_version + 5)
    assert ahead.value.code == 504


def test_compaction_reaches_the_version_seen_at_the_previous_one() -> None:
    store = ObjectStore(100)
    store.insert(CM, _cm("a", "1"))
    first = store.resource_version
    assert store.compact() == 0  # the first compaction only marks where the next one goes
    store.replace(CM, _cm("a", "2"))
    assert store.compact() == first
    with pytest.raises(ApiError) as gone:
        store.list_at(CM, None, None, first)
    assert gone.value.code == 410
    with pytest.raises(ApiError) as watch_gone:
        store.watch(CM, None, None, first - 1)
    assert watch_gone.value.code == 410 and "too old resource version" in watch_gone.value.message
    store.watch(CM, None, None, store.resource_version)  # from now on: fine
