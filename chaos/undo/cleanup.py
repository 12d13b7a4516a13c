"""`spotchaos cleanup`: undo what a run left behind after it could not roll back itself (kill -9,
a lost CI runner, a closed laptop), from its journal's undo log, or, with the journal gone, from
what carries its run id (the `spotchaos:run-id` tag on FIS experiments, templates and IAM roles,
the owner of metadata notices).  Each undo is recorded in the same journal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos import live_runs as run_registry
from chaos.aws.faults import AwsFaults
from chaos.aws.metadata_mock import MetadataMock
from chaos.clock import RunClock
from chaos.errors import ChaosError
from chaos.identity import PROFILE_TAG, RUN_ID_TAG, Owner, run_selector
from chaos.journal import (
    Journal,
    JournalError,
    JournalReading,
    journal_file,
    of,
    read_journal_checked,
)
from chaos.journal.records import (
    ConnectedRecord,
    ExperimentRecord,
    IntentDoneRecord,
    IntentRecord,
    UndoneRecord,
)
from chaos.target import Connection
from chaos.undo.log import Intent, Stage, UndoOp, pending, undo_step_name
from chaos.undo.steps import Undoer
from cluster.endpoints import Endpoints, is_recorded_simulator


class CleanupError(ChaosError):
    """Cleanup cannot start (no journal, a run still going, no way to reach its cluster)."""


@dataclass(frozen=True)
class Undone:
    step: str
    ok: bool
    detail: str


def _gone_with_simulator(connected: ConnectedRecord) -> str | None:
    """Why nothing is left, when everything the run did lived in a simulator that is gone."""
    if connected.target != "local" or connected.endpoints is None:
        return None
    try:
        endpoints = Endpoints.from_dict(connected.endpoints)
    except ValueError:
        return None
    if not is_recorded_simulator(endpoints):
        return f"gone with the simulator it lived in (pid {endpoints.pid} has exited)"
    return None


def _undoer(run_id: str, endpoints: Endpoints) -> Undoer:
    conn = Connection(endpoints, 1.0, None)
    metadata = MetadataMock(endpoints.extra["control_url"]) if endpoints.extra.get("control_url") else None
    return Undoer(run_id, AwsFaults(conn.aws, endpoints.region), metadata, endpoints)


async def _replay(todo: list[Intent], undoer: Undoer | None, gone: str | None, record: Callable[[Intent, bool, str], None]) -> list[Undone]:
    out = []
    for intent in todo:
        if gone is not None:
            ok, detail = True, gone
        elif intent.undo == UndoOp.CANCEL_RECLAIM:
            ok, detail = True, "the reclaim was the run's own: it ended with the run"
        else:
            try:
                assert undoer is not None
                ok, detail = True, await undoer.undo(intent)
            except Exception as exc:  # noqa: BLE001 - say it and go on with the rest
                ok, detail = False, f"{type(exc).__name__}: {exc}"
        record(intent, ok, detail)
        out.append(Undone(undo_step_name(intent), ok, detail))
    return out


UNDO_LOG_KINDS = frozenset(c.model_fields["kind"].default for c in (IntentRecord, IntentDoneRecord, UndoneRecord))


@dataclass(frozen=True)
class Cleaned:
    """What cleanup of a run directory did: each undo, and the journal's lines it could not read
    (an intent among them may name something left that only `cleanup --run-id` can find)."""

    run_id: str
    done: list[Undone]
    unreadable: list[str] = field(default_factory=list)
    intent_unreadable: bool = False

    @property
    def ok(self) -> bool:
        return all(u.ok for u in self.done) and not self.intent_unreadable


def _unreadable_intents(reading: JournalReading) -> list[str]:
    """Lines that are, or may be, part of the undo log and could not be read.  A line cut short at
    the end is not one: an intent is on disk (fsynced) before the action it announces."""
    last = max([m.line for m in reading.malformed] + [u.line for u in reading.unreadable], default=0)
    out = [str(m) for m in reading.malformed if m.kind in UNDO_LOG_KINDS]
    out += [str(u) for u in reading.unreadable if u.kind in UNDO_LOG_KINDS or (u.kind is None and u.line != last)]
    return out


async def cleanup_run_dir(run_dir: Path, *, force: bool = False) -> Cleaned:
    """Each undo the run directory's (or journal.jsonl's) undo log says is left, replayed: every
    intent that can be read is undone, and the lines that could not be read are listed."""
    path = journal_file(run_dir)
    reading = read_journal_checked(path)
    records = reading.records
    first = records[0]
    run_id = first.run_id if isinstance(first, ExperimentRecord) else None
    if run_id is None:
        raise CleanupError(f"{path}: written by a version of spotchaos without an undo log; nothing to replay")
    lost = _unreadable_intents(reading)
    unreadable = reading.left_out()
    owner = Owner.from_dict(first.owner if isinstance(first, ExperimentRecord) else None)
    if owner is not None and owner.alive() and not force:
        raise CleanupError(f"run {run_id} is still going (pid {owner.pid}); stop it (Ctrl-C rolls back) or give --force")
    todo = pending(records)
    if not todo:
        if not lost:
            run_registry.unregister(run_id)
        return Cleaned(run_id, [], unreadable, bool(lost))
    connected = next(reversed(of(records, ConnectedRecord)), None)
    if connected is None or connected.endpoints is None:
        raise CleanupError(f"{path}: the run recorded no connection to its cluster; nothing it did can be found from here")
    gone = _gone_with_simulator(connected)
    undoer = None
    if gone is None:
        try:
            undoer = _undoer(run_id, Endpoints.from_dict(connected.endpoints))
        except ValueError:
            raise CleanupError(f"{path}: the connected record's endpoints are not readable") from None
    last_t = max((r.t for r in records), default=0.0)
    try:
        journal = Journal(path, RunClock(), append=True)
    except JournalError as exc:
        raise CleanupError(str(exc)) from None
    try:
        def record(intent: Intent, ok: bool, detail: str) -> None:
            journal.write(UndoneRecord(intent=intent.id, ok=ok, detail=detail, by="cleanup"), t=last_t, durable=True)

        done = await _replay(todo, undoer, gone, record)
    finally:
        journal.close()
    cleaned = Cleaned(run_id, done, unreadable, bool(lost))
    if cleaned.ok:
        run_registry.unregister(run_id)
    return cleaned


def _load_jobs(run_id: str, endpoints: Endpoints) -> list[tuple[str, str]]:
    from chaos.kube import load_jobs
    from chaos.kube.clients import api_client

    return load_jobs.jobs_labelled(api_client(endpoints), run_selector(run_id)) if endpoints.kubeconfig else []


async def cleanup_run_id(run_id: str, endpoints: Endpoints) -> list[Undone]:
    """With the journal gone: find what carries the run id and undo it."""
    undoer = _undoer(run_id, endpoints)
    assert undoer.faults is not None
    todo = [Intent(0, "FIS experiments of the run", UndoOp.STOP_FIS_EXPERIMENT, Stage.FAULT),
            Intent(0, "FIS templates of the run", UndoOp.DELETE_FIS_TEMPLATE, Stage.FAULT)]
    if undoer.metadata is not None:
        notices: list[dict[str, Any]] = await undoer.metadata.instances()
        todo += [Intent(0, f"metadata notice of {i['instance_id']}", UndoOp.WITHDRAW_METADATA_NOTICE, Stage.FAULT, {"instance": i["instance_id"]})
                 for i in notices if i.get("notice_owner") == run_id and i.get("notice") and i.get("alive", True)]
    roles = await asyncio.to_thread(undoer.faults.roles_tagged, RUN_ID_TAG, run_id)
    todo += [Intent(0, f"IAM role {r}", UndoOp.DELETE_IAM_ROLE, Stage.FAULT, {"role_name": r}) for r in roles]
    # the load's Jobs on the cluster (traffic.placement: cluster) carry the run's label
    todo += [Intent(0, f"load Job {ns}/{name}", UndoOp.DELETE_LOAD_JOB, Stage.SETUP, {"namespace": ns, "job": name})
             for ns, name in await asyncio.to_thread(_load_jobs, run_id, endpoints)]
    # a cluster the run provisioned: its node groups carry the run id and the profile
    clusters = await asyncio.to_thread(undoer.faults.clusters_tagged, RUN_ID_TAG, run_id, PROFILE_TAG)
    todo += [Intent(0, f"cluster {name}", UndoOp.TEAR_DOWN_CLUSTER, Stage.SETUP, {"profile": profile, "cluster": name})
             for name, profile in clusters if profile]
    done = await _replay(todo, undoer, None, lambda i, ok, d: None)
    if all(u.ok for u in done):
        run_registry.unregister(run_id)
    return done
