"""Everything a report shows, computed once from the journal's records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chaos.errors import SpecError
from chaos.evidence.milestones import NodeMilestones, node_milestones
from chaos.evidence.starvation import Health, health_of
from chaos.evidence.traffic_stats import TrafficStats, traffic_stats
from chaos.journal import JournalError, JournalReading, Malformed, Record, of
from chaos.journal.records import (
    AbortRecord,
    ExperimentRecord,
    InjectedRecord,
    PhaseRecord,
    RollbackRecord,
    SteadyStateRecord,
    TrafficSummaryRecord,
    VerdictRecord,
    run_speed,
)
from chaos.spec import Experiment, parse_experiment
from chaos.verdict.outcome import Verdict, verdict


@dataclass
class ReportData:
    spec: Experiment
    records: list[Record]
    verdict: Verdict
    nodes: list[NodeMilestones]
    traffic: TrafficStats
    phases: list[tuple[float, str]]
    rollback: list[RollbackRecord]
    complete: bool  # the run wrote its verdict (false: killed; the verdict is rebuilt)
    speed: float
    summary: dict[str, Any] | None
    malformed: tuple[Malformed, ...] = ()  # records of a known kind that did not fit it, left out
    left_out: tuple[str, ...] = ()  # every line the report did not use (malformed, unreadable, repeated), one phrase each

    @property
    def steady_state(self) -> list[SteadyStateRecord]:
        """The steady-state checks, before injecting and after traffic stopped."""
        return of(self.records, SteadyStateRecord)

    @property
    def health(self) -> list[Health]:
        """The run's own health, one entry a real second (none in journals from before it was measured)."""
        return health_of(self.records)

    @property
    def injections(self) -> list[InjectedRecord]:
        return of(self.records, InjectedRecord)


def build_read(reading: JournalReading) -> ReportData:
    """The report of a journal as `read_journal_checked` read it, listing what it left out."""
    return build(reading.records, reading.malformed, reading.left_out())


def build(records: list[Record], malformed: Sequence[Malformed] = (), left_out: Sequence[str] = ()) -> ReportData:
    """The report of a journal's records; `malformed`, the records `read_journal_checked` left out,
    are listed in the reports (`left_out`: every line it did not use, when known)."""
    head = records[0]
    try:
        spec = parse_experiment(head.spec if isinstance(head, ExperimentRecord) else None, "journal", recorded=True)
    except SpecError as exc:
        raise JournalError(f"the journal's experiment record is not a valid experiment: {exc}") from None
    written = next(reversed(of(records, VerdictRecord)), None)
    body = [r for r in records if not isinstance(r, VerdictRecord)]
    if written is None:
        # a killed run: judge what it recorded, marked as cut short
        cut = [*body, AbortRecord(t=max(r.t for r in body), reason="the run ended without a verdict (killed?); judged on what it recorded")]
        result = verdict(spec, cut)
    else:
        result = verdict(spec, body)
    speed = run_speed(records)  # the speed the experiment measured at (provisioning may have run faster)
    summary = next(reversed(of(records, TrafficSummaryRecord)), None)
    return ReportData(
        spec=spec, records=body, verdict=result, nodes=node_milestones(body), traffic=traffic_stats(body),
        phases=[(r.t, r.phase) for r in of(body, PhaseRecord)], rollback=of(body, RollbackRecord),
        complete=written is not None, speed=speed,
        summary=summary.fields() if summary else None, malformed=tuple(malformed),
        left_out=tuple(left_out) or tuple(str(m) for m in malformed),
    )
