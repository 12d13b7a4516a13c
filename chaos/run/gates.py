"""A game day's gates in the run: before the first injection, the go/no-go checks (judged from
the journal and two looks at the cluster), then the driver's go; before each later wave, the
driver's go again.  Every check, override and decision is journaled; a go with a failed check the
driver did not override is a no-go, whatever the caller answered."""

from __future__ import annotations

import asyncio

from chaos import api_errors
from chaos.errors import ChaosError
from chaos.identity import RUN_ID_TAG
from chaos.journal.records import DecisionRecord, GoNoGoRecord, OverrideRecord
from chaos.run.context import GateAnswer, GateRequest, Ready, RunContext
from chaos.run.go_no_go import GoNoGoCheck, doctor_check, fis_check, from_records


def _doctor(ready: Ready) -> GoNoGoCheck:
    from chaos.doctor import from_cluster
    from cluster.doctor import diagnose

    try:
        objects, groups = from_cluster(ready.connected.conn.endpoints)
        return doctor_check(diagnose(objects, groups))
    except (ChaosError, ValueError, *api_errors.sdk_errors()) as exc:
        return GoNoGoCheck("doctor: cluster Spot-ready", False, f"could not read the cluster: {api_errors.describe(exc)}")


def _fis(ctx: RunContext, ready: Ready) -> GoNoGoCheck:
    try:
        running = ready.connected.faults.running_experiments_tagged(RUN_ID_TAG)
    except api_errors.sdk_errors() as exc:
        return GoNoGoCheck("no FIS experiment of ours running", False, f"could not list FIS experiments: {api_errors.describe(exc)}")
    return fis_check([(eid, run) for eid, run in running if run != ctx.run_id])


def cluster_word(ctx: RunContext, ready: Ready) -> str:
    """What the driver types to go: the cluster's name, as infrastructure tools ask before they touch production."""
    return ready.serving.cluster_name or ctx.spec.cluster.name or ready.connected.conn.endpoints.kube_context or "local"


async def go_no_go(ctx: RunContext, ready: Ready) -> GateAnswer:
    assert ctx.options.gate is not None
    checks = from_records(ctx.spec, ctx.journal.snapshot())
    checks += [await asyncio.to_thread(_doctor, ready), await asyncio.to_thread(_fis, ctx, ready)]
    for c in checks:
        ctx.journal.write(GoNoGoRecord(check=c.name, ok=c.ok, evidence=c.evidence))
    answer = await ctx.options.gate(GateRequest("go", tuple(checks), cluster=cluster_word(ctx, ready)))
    overridden = {check for check, _ in answer.overrides}
    for check, reason in answer.overrides:
        ctx.journal.write(OverrideRecord(check=check, reason=reason, author=answer.author))
    go = answer.go and all(c.ok or c.name in overridden for c in checks)
    ctx.journal.write(DecisionRecord(gate="go", go=go, author=answer.author))
    return GateAnswer(go, answer.author, answer.overrides)


async def wave_gate(ctx: RunContext, gate: str, last: str) -> bool:
    assert ctx.options.gate is not None
    answer = await ctx.options.gate(GateRequest(gate, last=last))
    ctx.journal.write(DecisionRecord(gate=gate, go=answer.go, author=answer.author))
    return answer.go
