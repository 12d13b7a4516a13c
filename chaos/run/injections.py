"""The faults of a run: each injection's waves at their times, fired through its injector with
what the injectors need from the run (FIS templates and experiments, the FIS role, NTH's queue,
the reclaim a queued notice promises), every side effect announced in the undo log first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.errors import InjectionError
from chaos.identity import RUN_ID_TAG
from chaos.inject import FireContext, injector_for
from chaos.inject.selection import Candidate
from chaos.journal.records import InjectedRecord, ReclaimSentRecord
from chaos.run.context import TICK, Ready, RunContext
from chaos.run.gates import wave_gate
from chaos.spec import Injection
from chaos.undo.log import Stage, UndoOp


@dataclass
class Injections:
    ctx: RunContext
    aborted: Callable[[], bool]
    nodes: Callable[[], list[Candidate]]
    injected: list[InjectedRecord] = field(default_factory=list)  # one record per node hit
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    start: float | None = None
    pending_reclaims: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    reclaim_intents: dict[str, int] = field(default_factory=dict)
    role_arn: str | None = None
    queue_url: str | None = None
    fired: list[tuple[int, int, list[InjectedRecord]]] = field(default_factory=list)  # (injection, wave, its records), in firing order
    gate_turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # a game day asks one gate at a time
    ready: Ready | None = None  # what the waves fire with, from `begin`

    def begin(self, ready: Ready) -> None:
        """Every injection's waves, as tasks, from now."""
        self.ready = ready
        self.start = self.ctx.clock.now()
        for i, inj in enumerate(self.ctx.spec.injections):
            self.tasks.append(asyncio.create_task(self._waves(i, inj)))

    def _released_by_the_go(self) -> int:
        """The injection whose first wave the game day's go releases: the first to fire (the first
        listed of those at the same time).  Every other wave waits for a gate of its own."""
        injections = self.ctx.spec.injections
        return min(range(len(injections)), key=lambda i: (injections[i].at, i))

    def all_fired(self) -> bool:
        return bool(self.tasks) and all(t.done() for t in self.tasks)

    def failure(self) -> BaseException | None:
        return next((t.exception() for t in self.tasks if t.done() and not t.cancelled() and t.exception() is not None), None)

    def cancel(self) -> None:
        for task in [*self.tasks, *self.pending_reclaims.values()]:
            task.cancel()

    def forget_reclaim(self, instance: str) -> None:
        self.reclaim_intents.pop(instance, None)

    async def _waves(self, index: int, inj: Injection) -> None:
        clock = self.ctx.clock
        assert self.start is not None
        for wave in range(inj.waves):
            when = self.start + inj.at + wave * inj.every
            while clock.now() < when:
                if self.aborted():
                    return
                await clock.sleep_real(min(TICK, clock.real_seconds(when - clock.now()) + 0.001))
            if self.aborted():
                return
            if self.ctx.options.gate is not None and (wave > 0 or index != self._released_by_the_go()):
                # a game day: every wave but the first one the go released waits for the driver's go
                async with self.gate_turn:
                    if self.aborted():
                        return
                    if not await wave_gate(self.ctx, f"wave {wave + 1} of {inj.label(index)}", self._last_fired()):
                        raise InjectionError(f"no go: the driver stopped {inj.label(index)} before wave {wave + 1}")
                if self.aborted():
                    return
            await self._fire(index, inj, wave)

    def _last_fired(self) -> str:
        """What the wave fired last did, for the driver deciding on the next one."""
        if not self.fired:
            return "nothing has fired yet"
        index, wave, records = self.fired[-1]
        inj = self.ctx.spec.injections[index]
        if not records:
            return f"wave {wave + 1} of {inj.label(index)} put a {injector_for(inj).describe(inj)}"
        nodes = [r.node or r.instance for r in records]
        return f"wave {wave + 1} of {inj.label(index)} took {', '.join(str(n) for n in nodes)}"

    @property
    def _with(self) -> Ready:
        if self.ready is None:
            raise RuntimeError("an injection fired before its waves began")
        return self.ready

    async def _fire(self, index: int, inj: Injection, wave: int) -> None:
        ctx, connected = self.ctx, self._with.connected
        fire = FireContext(
            run_id=ctx.run_id, experiment=ctx.spec.name, journal=ctx.journal, undo=ctx.undo, clock=ctx.clock, faults=connected.faults,
            metadata=connected.metadata, region=connected.conn.endpoints.region, cluster_name=self._with.serving.cluster_name, tags=ctx.tags(), alarms=ctx.alarms(),
            nodes=self.nodes, taken={r.instance for r in self.injected if r.instance}, fis_role=self._fis_role, start_fis=self._start_fis,
            queue_url=self._queue_url, schedule_reclaim=self._schedule_reclaim,
        )
        records = await injector_for(inj).fire(fire, inj, index, wave)
        self.injected.extend(records)
        self.fired.append((index, wave, records))

    def _schedule_reclaim(self, instance: str, notice: float) -> None:
        """The reclaim a notice put on NTH's queue promises, which only the harness can send."""
        self.reclaim_intents[instance] = self.ctx.undo.intent(f"reclaim {instance} {notice:g}s after its queued notice", UndoOp.CANCEL_RECLAIM,
                                                              Stage.FAULT, instance=instance)
        self.pending_reclaims[instance] = asyncio.create_task(self._reclaim_later(instance, notice))

    async def _reclaim_later(self, instance: str, notice: float) -> None:
        """After a notice put on the queue, the reclaim EC2 would do: the instance is terminated."""
        await self.ctx.clock.sleep(notice)
        await asyncio.to_thread(self._with.connected.faults.terminate, instance)
        self.ctx.journal.write(ReclaimSentRecord(instance=instance))
        self.pending_reclaims.pop(instance, None)
        number = self.reclaim_intents.pop(instance, None)
        if number is not None:
            self.ctx.undo.undone(number, True, "reclaimed as planned: nothing to undo", by="run")

    async def _start_fis(self, template: dict[str, Any], what: str) -> str:
        """Create the template and start the experiment, each announced in the undo log first."""
        ctx, faults = self.ctx, self._with.connected.faults
        number = ctx.undo.intent(f"create FIS template for {what}", UndoOp.DELETE_FIS_TEMPLATE, Stage.FAULT)
        template_id = await asyncio.to_thread(faults.create_template, template, f"{ctx.run_id}-{number}"[-64:])
        ctx.undo.done(number, template_id=template_id)
        number = ctx.undo.intent(f"start FIS experiment from {template_id}", UndoOp.STOP_FIS_EXPERIMENT, Stage.FAULT, template_id=template_id)
        eid = await asyncio.to_thread(faults.start_experiment, template_id, template.get("tags", {}), f"{ctx.run_id}-{number}"[-64:])
        ctx.undo.done(number, experiment_id=eid)
        self._with.observers.fis.add(eid)
        return eid

    async def _fis_role(self) -> str:
        ctx = self.ctx
        if self.role_arn is None and ctx.spec.target.fis_role_arn:
            self.role_arn = ctx.spec.target.fis_role_arn
        if self.role_arn is None:
            name = f"spotchaos-fis-{ctx.run_id[-6:]}"  # the run id's random part: a role of this run's own
            number = ctx.undo.intent(f"create IAM role {name} for FIS", UndoOp.DELETE_IAM_ROLE, Stage.FAULT, role_name=name)
            arn, _ = await asyncio.to_thread(self._with.connected.faults.ensure_fis_role, name, {RUN_ID_TAG: ctx.run_id})
            ctx.undo.done(number, role_arn=arn)
            self.role_arn = arn
        return self.role_arn

    async def _queue_url(self) -> str:
        if self.queue_url is None:
            from chaos.provisioning import karpenter_queue_name, nth_queue_url

            connected = self._with.connected
            self.queue_url = await asyncio.to_thread(nth_queue_url, connected.conn.kube())
            if self.queue_url is None:
                name = await asyncio.to_thread(karpenter_queue_name, connected.conn.kube())
                if name is not None:
                    self.queue_url = await asyncio.to_thread(connected.faults.queue_url, name)
            if self.queue_url is None:
                raise InjectionError("via sqs: no NTH Deployment with QUEUE_URL (queue mode) and no Karpenter with an interruption queue in the cluster; "
                                     "use a profile with nth.mode: queue, or karpenter")
        return self.queue_url
