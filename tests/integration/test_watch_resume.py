"""The harness's Kubernetes watches lose no change when the network does: a stream cut mid-run is
resumed from the last resourceVersion, and a version the server has compacted away (410 Gone)
is answered by listing again and reporting what changed in between, deletions too.  A cutting
proxy on loopback stands between the watch and the simulator's API server; the simulator keeps
500 events of history (tests/conftest.py), so 600 writes during a cut push the watch's version
out of it and the real 410 comes from the server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
from kubernetes import client, config

from chaos.clock import RunClock
from chaos.journal import Journal, of
from chaos.journal.records import PodRecord
from chaos.kube.watches import KubeWatch, pod_record
from cluster.waiting import wait_for
from tests.support.cutting_proxy import CuttingProxy

NS = "watch-resume"


@pytest.fixture
def proxied(sim) -> Iterator[tuple[CuttingProxy, client.CoreV1Api, client.CoreV1Api]]:
    """(proxy, a client through the proxy, a direct client)"""
    direct = client.CoreV1Api(config.new_client_from_config(config_file=sim.endpoints.kubeconfig))
    url = urlparse(direct.api_client.configuration.host)
    proxy = CuttingProxy(url.hostname or "127.0.0.1", url.port or 80)
    cfg = client.Configuration()
    cfg.host = f"http://127.0.0.1:{proxy.port}"
    cfg.retries = False  # the watch's own resume logic is under test, not urllib3's retries
    try:
        direct.create_namespace({"metadata": {"name": NS}})
    except client.ApiException as exc:
        assert exc.status == 409
    for p in direct.list_namespaced_pod(NS).items:
        direct.delete_namespaced_pod(p.metadata.name, NS, grace_period_seconds=0)
    yield proxy, client.CoreV1Api(client.ApiClient(cfg)), direct
    proxy.close()


def pod(name: str) -> dict:
    return {"metadata": {"name": name, "labels": {"test": "watch"}},
            "spec": {"nodeSelector": {"no-such-node": "true"}, "containers": [{"name": "c", "image": "busybox"}]}}


def last_state(journal: Journal) -> dict[str, bool]:
    """pod name -> deleted, from the latest record of each."""
    out: dict[str, bool] = {}
    for r in of(journal.snapshot(), PodRecord):
        if r.pod.startswith(f"{NS}/"):
            out[r.pod.split("/", 1)[1]] = bool(r.deleted)
    return out


@contextmanager
def watching(api: client.CoreV1Api, direct: client.CoreV1Api, tmp_path, first: list[str]) -> Iterator[tuple[KubeWatch, Journal]]:
    """A pod watch through `api` into a journal, once it has seen the pods `first` created."""
    journal, stop = Journal(tmp_path / "j.jsonl", RunClock()), threading.Event()
    watcher = KubeWatch("pod", lambda **kw: api.list_namespaced_pod(NS, **kw), pod_record, journal, stop)
    watcher.start()
    try:
        assert watcher.synced.wait(10)
        for name in first:
            direct.create_namespaced_pod(NS, pod(name))
        wait_for(lambda: len(last_state(journal)) == len(first), 10, "the first pods in the journal")
        yield watcher, journal
    finally:
        stop.set()
        watcher.join(10)


def test_a_cut_stream_resumes_from_its_version_and_misses_nothing(proxied, tmp_path) -> None:
    proxy, through, direct = proxied
    with watching(through, direct, tmp_path, [f"before-{i}" for i in range(10)]) as (watcher, journal):
        proxy.cut()
        for i in range(5):
            direct.delete_namespaced_pod(f"before-{i}", NS, grace_period_seconds=0)
            direct.create_namespaced_pod(NS, pod(f"during-{i}"))
        wait_for(lambda: watcher.resumes >= 1, 10, "the watch to notice the cut")
        proxy.restore()
        want = {**{f"before-{i}": i < 5 for i in range(10)}, **{f"during-{i}": False for i in range(5)}}
        wait_for(lambda: last_state(journal) == want, 15, f"the journal to catch up: {last_state(journal)}")
        assert watcher.lists == 1  # resumed from its version: no list was needed


def test_a_compacted_version_gets_410_and_a_relist_reports_the_deletions(proxied, tmp_path) -> None:
    proxy, through, direct = proxied
    with watching(through, direct, tmp_path, [f"old-{i}" for i in range(6)]) as (watcher, journal):
        proxy.cut()
        for i in range(3):
            direct.delete_namespaced_pod(f"old-{i}", NS, grace_period_seconds=0)
        # more writes than the server keeps history for: the watch's version is compacted away
        for i in range(300):
            direct.create_namespaced_config_map(NS, {"metadata": {"name": f"filler-{i}"}})
            direct.delete_namespaced_config_map(f"filler-{i}", NS)
        direct.create_namespaced_pod(NS, pod("new-0"))
        proxy.restore()
        want = {**{f"old-{i}": i < 3 for i in range(6)}, "new-0": False}
        wait_for(lambda: last_state(journal) == want, 20, f"the journal to catch up: {last_state(journal)}")
        assert watcher.lists == 2  # the server answered 410 and the watch listed again
