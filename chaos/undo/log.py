"""The undo log, kept in the run's journal: before any action with a side effect the run writes
(and fsyncs) an `intent` saying what it is about to do and how to undo it; after the action an
`intent_done` with what it made (ids); each undo, by the run's rollback or a later `spotchaos
cleanup`, an `undone`.  Pure: which intents are still to undo, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chaos.journal import Record, of
from chaos.journal.records import IntentDoneRecord, IntentRecord, UndoneRecord


class UndoOp(StrEnum):
    """How an intent is undone; every op is idempotent (undoing twice is a no-op the second time)."""

    STOP_FIS_EXPERIMENT = "stop-fis-experiment"
    DELETE_FIS_TEMPLATE = "delete-fis-template"
    DELETE_IAM_ROLE = "delete-iam-role"
    WITHDRAW_METADATA_NOTICE = "withdraw-metadata-notice"
    CANCEL_RECLAIM = "cancel-reclaim"
    TEAR_DOWN_CLUSTER = "tear-down-cluster"
    DELETE_LOAD_JOB = "delete-load-job"  # the load's shards on the cluster (traffic.placement: cluster)
    REPORT_ONLY = "report-only"  # nothing can undo it (a notice NTH already read); reported


class Stage(StrEnum):
    """Faults are undone before traffic stops; setup (the cluster) after."""

    SETUP = "setup"
    FAULT = "fault"


@dataclass(frozen=True)
class Intent:
    id: int
    action: str
    undo: UndoOp
    stage: Stage
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None  # from intent_done; None: the action may or may not have happened

    @property
    def args(self) -> dict[str, Any]:
        """What the undo works with: the intent's parameters and, once known, the action's ids."""
        return {**self.params, **(self.result or {})}


def intents(records: Iterable[Record]) -> list[Intent]:
    """Every intent in the journal, in the order written, with its result when it has one."""
    found: dict[int, Intent] = {}
    results: dict[int, dict[str, Any]] = {}
    for r in records:
        if isinstance(r, IntentRecord):
            try:
                found[r.intent] = Intent(r.intent, r.action, UndoOp(r.undo), Stage(r.stage), dict(r.params))
            except ValueError:
                continue  # an undo op this version does not know: left for the version that wrote it
        elif isinstance(r, IntentDoneRecord):
            results[r.intent] = dict(r.result or {})
    return [Intent(i.id, i.action, i.undo, i.stage, i.params, results.get(i.id)) for i in found.values()]


def undone_ids(records: Iterable[Record]) -> set[int]:
    return {r.intent for r in of(records, UndoneRecord) if r.ok}


def pending(records: list[Record], stage: Stage | None = None) -> list[Intent]:
    """Intents not yet undone, newest first (the order to undo them in)."""
    done = undone_ids(records)
    return [i for i in reversed(intents(records)) if i.id not in done and (stage is None or i.stage == stage)]


def failed_undos(records: list[Record]) -> list[UndoneRecord]:
    """`undone` records that failed, for intents no later undo succeeded for: what is left behind."""
    done = undone_ids(records)
    return [r for r in of(records, UndoneRecord) if not r.ok and r.intent not in done]


def undo_step_name(intent: Intent) -> str:
    """The rollback step's name, as reports and cleanup show it."""
    a = intent.args
    return {
        UndoOp.STOP_FIS_EXPERIMENT: f"stop FIS experiment {a.get('experiment_id') or '(found by tag)'}",
        UndoOp.DELETE_FIS_TEMPLATE: f"delete FIS template {a.get('template_id') or '(found by tag)'}",
        UndoOp.DELETE_IAM_ROLE: f"delete IAM role {a.get('role_name')}",
        UndoOp.WITHDRAW_METADATA_NOTICE: f"withdraw metadata notice of {a.get('instance')}",
        UndoOp.CANCEL_RECLAIM: f"cancel queued reclaim of {a.get('instance')}",
        UndoOp.TEAR_DOWN_CLUSTER: f"tear down {a.get('cluster') or a.get('profile')}",
        UndoOp.DELETE_LOAD_JOB: f"delete load Job {a.get('namespace')}/{a.get('job') or '(found by label)'}",
        UndoOp.REPORT_ONLY: intent.action,
    }[intent.undo]
