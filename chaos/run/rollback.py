"""Rollback as its own step runner.  It undoes what the undo log says the run did, faults first
(newest first), then stops traffic and observers, then the setup (the cluster it provisioned),
then the simulator it started.  Each step is journaled; a failing step is recorded and the others
still run; `spotchaos cleanup` retries what is left."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from chaos.journal.records import RollbackRecord
from chaos.run.context import PROVISION_TIMEOUT, RunContext, RunState
from chaos.run.injections import Injections
from chaos.undo.log import Stage, UndoOp, pending, undo_step_name


class Rollback:
    def __init__(self, ctx: RunContext, state: RunState, injections: Injections, stop_traffic: Callable[[], Awaitable[None]]) -> None:
        self.ctx, self.state, self.injections, self.stop_traffic = ctx, state, injections, stop_traffic

    async def run(self) -> None:
        st = self.state
        self.injections.cancel()
        await self.undo(Stage.FAULT)
        await self.step("stop traffic", self.stop_traffic)
        st.stop_threads.set()
        if st.provision_task is not None and not st.provision_task.done():
            # provisioning runs in a thread that cannot be cancelled: let it finish, then tear down all it made
            await asyncio.wait({st.provision_task}, timeout=PROVISION_TIMEOUT)
        await self.undo(Stage.SETUP)
        conn = st.conn
        if conn is not None and conn.started_simulator:
            await self.step("stop the simulator", lambda: asyncio.to_thread(conn.stop))

    async def step(self, name: str, action: Callable[[], Any]) -> None:
        try:
            result = action()
            if asyncio.iscoroutine(result):
                result = await result
            self.ctx.journal.write(RollbackRecord(step=name, ok=True, detail=str(result or "done")))
        except Exception as exc:  # noqa: BLE001 - record and go on with the rest
            self.ctx.journal.write(RollbackRecord(step=name, ok=False, detail=f"{type(exc).__name__}: {exc}"))

    async def undo(self, stage: Stage) -> None:
        journal, undo = self.ctx.journal, self.ctx.undo
        for intent in pending(journal.snapshot(), stage):
            name = undo_step_name(intent)
            if intent.undo == UndoOp.CANCEL_RECLAIM:
                self.injections.forget_reclaim(str(intent.args.get("instance")))
                journal.write(RollbackRecord(step=name, ok=True, detail="cancelled"))
                undo.undone(intent.id, True, "cancelled", by="rollback")
                continue
            try:
                connected = self.state.connected
                if connected is None:
                    raise RuntimeError("the run never connected: nothing here can undo it (`spotchaos cleanup` can)")
                detail = await connected.undoer.undo(intent)
                ok = True
            except Exception as exc:  # noqa: BLE001 - record and go on with the rest
                detail, ok = f"{type(exc).__name__}: {exc}", False
            journal.write(RollbackRecord(step=name, ok=ok, detail=detail))
            undo.undone(intent.id, ok, detail, by="rollback")
