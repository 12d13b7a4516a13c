"""What an injector is: a way in (via) for a kind of fault, that says what it would take (the plan,
pure), describes itself for the plan text, and fires: it announces each side effect in the undo
log before making it and records what it injected.  Injectors see the run only through FireContext
(its clients, journal, undo log and clock), never the run itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chaos.aws.faults import AwsFaults
from chaos.aws.metadata_mock import MetadataMock
from chaos.clock import RunClock
from chaos.inject.fault import Fault
from chaos.inject.selection import Candidate, Selection, choose
from chaos.journal import Journal
from chaos.journal.records import InjectedRecord
from chaos.undo.writer import UndoWriter


@dataclass
class FireContext:
    run_id: str
    experiment: str
    journal: Journal
    undo: UndoWriter
    clock: RunClock
    faults: AwsFaults
    metadata: MetadataMock | None
    region: str
    cluster_name: str | None
    tags: dict[str, str]
    alarms: list[str]
    nodes: Callable[[], list[Candidate]]  # the cluster's Ready nodes now
    taken: set[str]  # instances earlier injections took
    fis_role: Callable[[], Awaitable[str]]
    start_fis: Callable[[dict[str, Any], str], Awaitable[str]]  # (template, what) -> experiment id, announced in the undo log
    queue_url: Callable[[], Awaitable[str]]
    schedule_reclaim: Callable[[str, float], None]  # (instance, after cluster seconds): the reclaim a queued notice promises
    extra: dict[str, Any] = field(default_factory=dict)

    def choose(self, inj: Fault, index: int, wave: int, injector: Injector | None = None) -> list[Candidate]:
        """The nodes this wave takes, by the injector's own rule (the selection's, unless it says otherwise)."""
        pick = injector.choose if injector is not None else NodeInjector.choose
        return pick(inj, self.nodes(), self.taken, f"{self.experiment}/{index}/{wave}", f"injections[{index}]")

    def injected(self, inj: Fault, index: int, wave: int, chosen: list[Candidate], *, reclaim_in: float | None,
                 noticed: dict[str, float] | None = None, **fields: Any) -> list[InjectedRecord]:
        """The `injected` records, one per node, written when the notice went out: at the run time
        `noticed` gives for the instance (the target's own stamp of it), else now."""
        now = self.clock.now()

        def record(c: Candidate, at: float) -> dict[str, Any]:
            return {"injection": inj.label(index), "via": inj.via, "action": inj.kind, "wave": wave, "instance": c.instance, "node": c.node,
                    "group": c.group, "az": c.az, "type": c.type, "reclaim_t": round(at + reclaim_in, 3) if reclaim_in is not None else None,
                    "reclaims": reclaim_in is not None}

        out = []
        for c in chosen:
            at = min(now, (noticed or {}).get(c.instance, now))
            out.append(self.journal.write(InjectedRecord(**record(c, at), **fields), t=round(at, 3)))
        return out


def select_text(s: Selection) -> str:
    how = f"{s.count} node(s)" if s.count else f"{s.percent:g}% of the nodes" if s.percent else f"instances {', '.join(s.instances)}"
    filters = ", ".join(f"{k} {v}" for k, v in (("node group", s.node_group), ("AZ", s.az), ("type", s.instance_type), ("capacity", s.capacity_type)) if v)
    return how + (f" ({filters})" if filters else "")


class Injector(Protocol):
    def choose(self, inj: Fault, nodes: list[Candidate], taken: set[str], seed: str, where: str) -> list[Candidate]:
        """The nodes it would take from the cluster's Ready nodes (pure and seeded: the plan's choice is the run's)."""
        ...

    def describe(self, inj: Fault) -> str:
        """What it does, for the plan text (`spotchaos plan`)."""
        ...

    def plan(self, inj: Fault, index: int, chosen: list[Candidate]) -> dict[str, Any]:
        """The plan entry (pure): what the first wave would take."""
        ...

    async def fire(self, ctx: FireContext, inj: Fault, index: int, wave: int) -> list[InjectedRecord]:
        """Inject one wave; returns the `injected` records it wrote."""
        ...


class NodeInjector:
    """Shared by injectors that interrupt chosen nodes."""

    @staticmethod
    def choose(inj: Fault, nodes: list[Candidate], taken: set[str], seed: str, where: str) -> list[Candidate]:
        return choose(inj.select, nodes, taken, seed, where)

    def plan(self, inj: Fault, index: int, chosen: list[Candidate]) -> dict[str, Any]:
        return {"injection": inj.label(index), "via": inj.via, "kind": inj.kind, "at": inj.at, "waves": inj.waves, "every": inj.every,
                "first_wave": [c.as_dict() for c in chosen]}
