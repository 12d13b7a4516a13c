"""A pod's logs go with the pod: a long-lived simulator kept every container's lines of every pod
it ever ran (the API server's store, in process, on a clock that does not move)."""

from __future__ import annotations

from cluster.sim.clock import SimClock
from cluster.sim.kube.api import KubeApi
from cluster.sim.kube.store import ObjectStore


def test_a_deleted_pods_logs_are_forgotten() -> None:
    api = KubeApi(ObjectStore(100), SimClock(1.0))
    pod_rt = api.rt("Pod")
    api.create(api.rt("Namespace"), "", {"metadata": {"name": "default"}})
    for name in ("kept", "gone"):
        api.create(pod_rt, "default", {"metadata": {"name": name}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
        api.logs.write("default", name, "app", f"{name} started", 0.0)
    follower = api.logs.next_write("default", "gone", "app")
    api.delete(pod_rt, "default", "gone", {"gracePeriodSeconds": 0})
    api.finish_pod_deletion("default", "gone")
    assert api.store.get(pod_rt, "default", "gone") is None
    assert api.logs.lines("default", "gone", "app") == [] and follower.is_set()
    assert [line.text for line in api.logs.lines("default", "kept", "app")] == ["kept started"]
