"""A run's first steps: reach the cluster (a simulator it starts, one running, or EKS), register
the run so a crash can be cleaned up, warn of stale runs on the same cluster, check the
guardrails, and refuse to start while the account's FIS safety lever is engaged."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import structlog

from chaos import live_runs as run_registry
from chaos.aws.faults import AwsFaults
from chaos.aws.metadata_mock import MetadataMock
from chaos.errors import SafetyLeverEngaged, TargetError
from chaos.identity import Owner
from chaos.journal.records import (
    ConnectedRecord,
    GuardrailsRecord,
    SafetyLeverRecord,
    StaleRunRecord,
)
from chaos.run.context import Connected, Phase, RunContext, RunState
from chaos.target import Connection, check_guardrails, eks, running_simulator, start_simulator
from chaos.undo.steps import Undoer

log = structlog.get_logger("run")


def cluster_key(ctx: RunContext, conn: Connection) -> str:
    where = conn.endpoints.aws_endpoint_url or conn.endpoints.kube_context
    return run_registry.cluster_key(conn.endpoints.target, where, ctx.spec.cluster.name)


async def connect(ctx: RunContext, state: RunState, phase: Callable[..., Any]) -> Connected:
    """Connect to the target (starting the simulator when the run starts one), check the guardrails
    and the FIS safety lever.  The connection is in `state.conn` as soon as there is one."""
    phase(Phase.CONNECT, target=ctx.spec.target.kind)
    target, report_dir = ctx.spec.target, ctx.options.report_dir
    if target.kind == "eks":
        conn = await asyncio.to_thread(eks, target)
    elif target.simulator.state_dir:
        conn = await asyncio.to_thread(running_simulator, Path(target.simulator.state_dir))
    else:
        conn = await asyncio.to_thread(start_simulator, target, report_dir / "simulator", report_dir / "simulator.log")
    state.conn = conn
    ctx.clock.start(conn.speed, conn.cluster_epoch, conn.cluster_clock())
    ctx.journal.write(ConnectedRecord(target=target.kind, speed=conn.speed, region=conn.endpoints.region, started_simulator=conn.started_simulator, simulator_pid=conn.process.pid if conn.process else conn.endpoints.pid, kube_context=conn.endpoints.kube_context, endpoints=asdict(conn.endpoints), state_dir=str(conn.state_dir.resolve()) if conn.state_dir else None))
    if not conn.started_simulator:  # a simulator the run started takes what the run made with it when it stops
        refuse_beside_a_running_run(ctx, cluster_key(ctx, conn))
        run_registry.register(run_registry.RunEntry(ctx.run_id, str(report_dir.resolve()), Owner.me(), cluster_key(ctx, conn)))
        warn_of_stale_runs(ctx, cluster_key(ctx, conn))
    phase(Phase.GUARDRAILS)
    facts = await asyncio.to_thread(check_guardrails, target, conn)
    ctx.journal.write(GuardrailsRecord.model_validate(facts))
    faults = AwsFaults(conn.aws, conn.endpoints.region)
    metadata = MetadataMock(conn.endpoints.extra["control_url"]) if conn.endpoints.extra.get("control_url") else None
    connected = Connected(conn, faults, metadata, Undoer(ctx.run_id, faults, metadata, conn.endpoints))
    status, reason = await asyncio.to_thread(faults.safety_lever)
    ctx.journal.write(SafetyLeverRecord(status=status, reason=reason))
    if status in ("engaged", "engaging"):
        raise SafetyLeverEngaged(f"the account's FIS safety lever is {status} ({reason}): no experiment may start; "
                                 "`spotchaos safety-lever release` disengages it")
    if status == "unknown":
        log.warning("safety_lever_unreadable", reason=reason)
    return connected


def refuse_beside_a_running_run(ctx: RunContext, key: str) -> None:
    """Two experiments at once on one cluster measure each other's faults: a run on a cluster
    another live run of this host is on stops here, before it touches anything."""
    busy = run_registry.running_on(key, ctx.run_id)
    if busy:
        entry = busy[0]
        raise TargetError(f"run {entry.run_id} (pid {entry.owner.pid}) is running on this cluster now: two experiments at once on one "
                          "cluster measure each other's faults; wait until it ends, or give this run a simulator of its own")


def warn_of_stale_runs(ctx: RunContext, key: str) -> None:
    """Runs of this cluster whose owner died with their faults in place: named, with the command
    that undoes them (the run goes on; what they left may skew its measurements)."""
    for entry in run_registry.stale():
        if entry.cluster_key != key or entry.run_id == ctx.run_id:
            continue
        undo = (f"spotchaos cleanup {entry.report_dir}" if os.path.isfile(entry.journal())
                else f"spotchaos cleanup --run-id {entry.run_id} (its directory is gone; add --target/--state-dir as for this run)")
        message = f"run {entry.run_id} (pid {entry.owner.pid}) on this cluster ended without undoing its faults; `{undo}` undoes them"
        ctx.journal.write(StaleRunRecord(run_id=entry.run_id, pid=entry.owner.pid, report_dir=entry.report_dir, message=message))
        log.warning("stale_run", run_id=entry.run_id, report_dir=entry.report_dir)
        ctx.warn(message)
