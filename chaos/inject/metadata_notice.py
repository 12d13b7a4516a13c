"""Notices put straight on the instances' metadata (the local simulator's stand-in for
amazon-ec2-metadata-mock): a Spot interruption (then the reclaim at the notice's end) or a rebalance
recommendation.  Each notice is announced in the undo log: a rollback or cleanup withdraws it."""

from __future__ import annotations

from datetime import datetime

from chaos.errors import InjectionError
from chaos.inject.base import FireContext, NodeInjector, select_text
from chaos.inject.fault import Fault
from chaos.journal.records import InjectedRecord
from chaos.undo.log import Stage, UndoOp


class MetadataNotice(NodeInjector):
    def describe(self, inj: Fault) -> str:
        tail = f", reclaim {inj.reclaim_after:g}s after the notice" if inj.reclaim_after is not None else ""
        return f"{inj.kind} on {select_text(inj.select)}{tail}"

    async def fire(self, ctx: FireContext, inj: Fault, index: int, wave: int) -> list[InjectedRecord]:
        if ctx.metadata is None:
            raise InjectionError("via metadata needs the local simulator's metadata mock (its control API)")
        chosen = ctx.choose(inj, index, wave)
        noticed: dict[str, float] = {}
        for c in chosen:
            number = ctx.undo.intent(f"{inj.kind} notice on the metadata of {c.instance}", UndoOp.WITHDRAW_METADATA_NOTICE, Stage.FAULT, instance=c.instance)
            sent = ctx.clock.now()
            if inj.reclaim_after is not None:
                answer = await ctx.metadata.spot_interruption(c.instance, inj.reclaim_after, owner=ctx.run_id)
            else:
                answer = await ctx.metadata.rebalance(c.instance)
            ctx.undo.done(number, instance=c.instance)
            # NTH may act on the notice before the answer is back: the notice is dated by the simulator's stamp
            stamp = answer.get("noticed_at")
            noticed[c.instance] = ctx.clock.run_time_of(datetime.fromisoformat(stamp).timestamp()) if isinstance(stamp, str) else sent
        return ctx.injected(inj, index, wave, chosen, reclaim_in=inj.reclaim_after, noticed=noticed)
