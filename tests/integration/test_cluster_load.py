"""Load on the cluster: an Indexed Job of harness pods, each running `spotchaos load-shard` as a
real process, read back through `pods/log` and merged into the journal.  One shard is placed on
a Spot node on purpose and the node is interrupted: the shard is reported lost (a rate drop, and
the load-shards-held check fails naming it), never as errors of the service, which the other
shard goes on measuring.  The target is a plain HTTP server in the test, so any error would be
the harness's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kubernetes import client

from chaos.clock import RunClock
from chaos.journal import Journal, of
from chaos.journal.records import ExperimentRecord, ShardsRecord, TrafficRecord
from chaos.observe.cluster_traffic import ShardPlacement
from chaos.observe.traffic import TrafficRun
from chaos.spec import Experiment, LoadShardsHeld, Traffic
from chaos.undo.writer import UndoWriter
from chaos.verdict.outcome import FAIL, evaluate
from cluster.waiting import wait_for
from tests.integration.helpers import namespace, node_group, wait_ready_nodes
from tests.integration.spot_helpers import control, instance_of
from tests.records import typed
from tests.support.journals import read_whole_journal

pytestmark = pytest.mark.integration

POOL = {"shard-pool": "lost-shard"}


async def _target(peers: set[str]) -> tuple[web.AppRunner, str]:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        peers.add(str(request.remote))
        return web.json_response({"predictions": [[1.0]]})

    app = web.Application()
    app.router.add_route("*", "/v1/models/m:predict", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/v1/models/m:predict"


async def test_a_shard_on_an_interrupted_spot_node_is_a_lost_shard_not_service_errors(sim: Any, tmp_path: Path) -> None:
    core, _, _, api_client = sim.kube()
    node_group(sim, "shards-od", ("m5.large",), 1, spot=False, labels=POOL)
    node_group(sim, "shards-spot", ("m5.large",), 1, labels=POOL)
    (spot_node,) = wait_ready_nodes(core, "shards-spot", 1, 60)
    wait_ready_nodes(core, "shards-od", 1, 60)
    ns = namespace(core, "shards")
    peers: set[str] = set()
    runner, url = await _target(peers)
    clock = RunClock()
    journal = Journal(tmp_path / "journal.jsonl", clock)
    journal.write(ExperimentRecord(name="lost-shard", spec={}, run_id="lost-shard-test-000000-abc123"))
    traffic = Traffic(rate=200, body="none", placement="cluster", shards=2, shard_nodes=POOL, timeout=2)
    where = ShardPlacement(api_client, ns, "lost-shard-test-000000-abc123", UndoWriter(journal), start_delay=6.0)
    run = TrafficRun(traffic, url, journal, clock, 25.0, where)
    try:
        await run.ready()
        started = next(iter(of(journal.snapshot(), ShardsRecord)))
        on_spot = [int(i) for i, node in (started.nodes or {}).items() if node == spot_node.metadata.name]
        assert len(on_spot) == 1, started  # one shard each: the scheduler spreads a Job's pods
        pod_ips = {p.status.pod_ip for p in core.list_namespaced_pod(ns, label_selector=f"job-name={started.job}").items}
        task = asyncio.create_task(run.run())
        await asyncio.to_thread(wait_for, lambda: len(of(journal.snapshot(), TrafficRecord)) >= 3, 20, "traffic flowing")
        status, _ = await asyncio.to_thread(control, sim, f"/v1/instances/{instance_of(spot_node)}/spot-interruption", {"reclaim": True})
        assert status == 201
        summary = await asyncio.wait_for(task, 60)
    finally:
        run.stop.set()
        await runner.cleanup()
        client.BatchV1Api(api_client).delete_namespaced_job(f"spotchaos-load-{where.run_id[-6:]}", ns, propagation_policy="Background")
    journal.close()

    records = read_whole_journal(tmp_path / "journal.jsonl")
    (lost,) = [r for r in records if r["kind"] == "shard_lost"]
    assert lost["index"] == on_spot[0] and lost["node"] == spot_node.metadata.name and lost["share"] == 0.5, lost
    seconds = [r for r in records if r["kind"] == "traffic"]
    assert sum(r["requests"] for r in seconds) > 0
    assert all(r["requests"] == r["ok"] for r in seconds), "a lost shard's load counted as errors"  # nothing but successes
    after = [r["requests"] for r in seconds if r["second"] > (lost.get("last_second") or 0) + 1]
    assert after and max(after) <= 110, after  # the rate dropped to the other shard's half (100/s)
    assert summary["shards_lost"] == [on_spot[0]] and summary["errors"] == 0
    assert peers == pod_ips and len(pod_ips) == 2  # each shard sent from its own pod IP, as a pod's traffic leaves it

    experiment = Experiment.model_validate({"name": "x", "injections": [{"via": "fis", "kind": "instance-loss"}],
                                            "hypotheses": [{"check": "error-rate", "max": 0.01}], "traffic": {"placement": "cluster", "shards": 2}})
    assert any(isinstance(h, LoadShardsHeld) for h in experiment.hypotheses)  # added to every cluster-placed experiment
    (held,) = [h for h in evaluate(experiment, typed(records), records[-1]["t"], final=True) if h.check == "load-shards-held"]
    assert held.status == FAIL and f"shard {on_spot[0]} on {spot_node.metadata.name} lost" in held.detail, held
