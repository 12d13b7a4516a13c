"""Events expire on the simulator as on kube-apiserver (--event-ttl): an Event is deleted its TTL
after its last write, so one written later outlives one written earlier.  Driven through the
Kubernetes client against a simulator with a one-minute TTL at speed 20."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from cluster.waiting import wait_for
from tests.conftest import start_sim

pytestmark = pytest.mark.integration


def _exists(core: client.CoreV1Api, name: str) -> bool:
    try:
        core.read_namespaced_event(name, "default")
        return True
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise


def test_an_event_is_deleted_its_ttl_after_its_last_write(tmp_path):
    sim = start_sim(tmp_path, event_ttl=60)
    try:
        core = sim.kube()[0]
        involved = {"kind": "Node", "name": "n1", "apiVersion": "v1"}
        first = core.create_namespaced_event("default", {"metadata": {"name": "first"}, "involvedObject": involved, "reason": "Test", "message": "one"})
        written = first.metadata.creation_timestamp  # cluster time, set by the API server
        later = (written + timedelta(seconds=45)).strftime("%Y-%m-%dT%H:%M:%SZ")  # as a count bump 45 s later writes it
        core.create_namespaced_event("default", {"metadata": {"name": "bumped"}, "involvedObject": involved, "reason": "Test", "message": "two",
                                                 "lastTimestamp": later})
        wait_for(lambda: not _exists(core, "first"), 15, "the first event to expire")
        assert _exists(core, "bumped"), "an event written 45 s later must outlive the first"
        wait_for(lambda: not _exists(core, "bumped"), 15, "the bumped event to expire")
        assert isinstance(written, datetime)
    finally:
        sim.stop()
