"""A BOOKMARK promises that every event up to its resourceVersion was sent.  The simulator's
watch handler once broke that promise: an event that reached a watch's queue while the handler's
wait for the next event was timing out was left in the queue, a BOOKMARK past it was written and
the stream ended at its deadline, so a client resuming from the bookmark never saw the event (the
harness once missed a Deployment's return to full readiness this way).

The race needs an event to land in the tiny window while asyncio cancels the wait; to make it
happen every time, the handler's `asyncio.wait_for` is wrapped so that a write lands exactly
there.  Everything else is the real handler, store and API over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from cluster.sim.clock import SimClock
from cluster.sim.kube import server as kube_server
from cluster.sim.kube.api import KubeApi
from cluster.sim.kube.server import KubeHttp
from cluster.sim.kube.store import ObjectStore


async def test_no_bookmark_passes_an_event_still_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    api = KubeApi(ObjectStore(1000), SimClock(1.0))
    cms = api.rt("ConfigMap")
    api.create(api.rt("Namespace"), "", {"metadata": {"name": "ns"}})
    api.create(cms, "ns", {"metadata": {"name": "c"}, "data": {"i": "0"}})
    since = api.store.resource_version
    real_wait_for = asyncio.wait_for
    landed: list[str] = []

    async def racing_wait_for(aw: Any, timeout: float | None) -> Any:
        try:
            return await real_wait_for(aw, timeout)
        except TimeoutError:
            if not landed:  # a write lands while the wait is being cancelled
                landed.append(api.update(cms, "ns", "c", {"metadata": {"name": "c"}, "data": {"i": "1"}})["metadata"]["resourceVersion"])
            raise

    monkeypatch.setattr(kube_server.asyncio, "wait_for", racing_wait_for)
    server = TestServer(KubeHttp(api, bookmark_interval=0.2).app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            params = {"watch": "1", "resourceVersion": str(since), "timeoutSeconds": "1", "allowWatchBookmarks": "true"}
            async with session.get(server.make_url("/api/v1/namespaces/ns/configmaps"), params=params) as resp:
                events = [json.loads(line) for line in (await resp.read()).splitlines() if line.strip()]
    finally:
        await server.close()
    assert landed, "the write did not land"
    order = [(e["type"], int(e["object"]["metadata"]["resourceVersion"])) for e in events]
    at = order.index(("MODIFIED", int(landed[0])))  # the event was sent
    covering = [i for i, (kind, rv) in enumerate(order) if kind == "BOOKMARK" and rv >= int(landed[0])]
    assert all(i > at for i in covering), order  # and before any bookmark past it
