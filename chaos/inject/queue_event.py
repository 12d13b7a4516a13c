"""EventBridge events put on NTH's SQS queue (queue-processor mode): the Spot interruption warning
(then the reclaim the harness itself sends at the notice's end) or a rebalance recommendation.  A
message NTH may already have read cannot be taken back: its intent is reported, not undone."""

from __future__ import annotations

import asyncio

from chaos.inject.base import FireContext, NodeInjector, select_text
from chaos.inject.fault import Fault
from chaos.inject.fis_documents import rebalance_event, spot_warning_event
from chaos.journal.records import InjectedRecord
from chaos.undo.log import Stage, UndoOp


class QueueEvent(NodeInjector):
    def describe(self, inj: Fault) -> str:
        tail = f", reclaim {inj.reclaim_after:g}s after the notice" if inj.reclaim_after is not None else ""
        return f"{inj.kind} on {select_text(inj.select)}{tail}"

    async def fire(self, ctx: FireContext, inj: Fault, index: int, wave: int) -> list[InjectedRecord]:
        chosen = ctx.choose(inj, index, wave)
        queue = await ctx.queue_url()
        account = await asyncio.to_thread(ctx.faults.account)
        reclaim = inj.reclaim_after
        sent: dict[str, float] = {}  # NTH may act on an event before SendMessage has answered: dated when sent
        for c in chosen:
            make = spot_warning_event if reclaim is not None else rebalance_event
            number = ctx.undo.intent(f"{inj.kind} event for {c.instance} on NTH's queue", UndoOp.REPORT_ONLY, Stage.FAULT, instance=c.instance, node=c.node,
                                     note=f"a notice on NTH's queue cannot be taken back: NTH drains {c.node} for it; "
                                          f"`kubectl uncordon {c.node}` once the experiment is over, or let the node be replaced")
            sent[c.instance] = ctx.clock.now()
            message = await asyncio.to_thread(ctx.faults.send_event, queue, make(c.instance, account, ctx.region, ctx.clock.cluster_iso()))
            ctx.undo.done(number, message_id=message)
            if reclaim is not None:
                ctx.schedule_reclaim(c.instance, reclaim)
        return ctx.injected(inj, index, wave, chosen, reclaim_in=reclaim, noticed=sent)
