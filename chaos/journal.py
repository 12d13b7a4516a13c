"""The run's journal: one JSON object per line, appended and flushed as things happen, so a killed
run still leaves a readable record.  Every record has `t` (cluster seconds since the run started),
`wall` (UTC) and `kind`; reports and verdicts are rebuilt from it alone."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from chaos.clock import RunClock
from chaos.errors import ChaosError, shown

Record = dict[str, Any]


class RecordKind(StrEnum):
    """Every kind of record this version writes.  Readers ignore kinds they do not know (a newer
    version wrote them); reports list them."""

    EXPERIMENT = "experiment"  # first: the spec, run id, owner
    PHASE = "phase"
    CONNECTED = "connected"
    GUARDRAILS = "guardrails"
    SAFETY_LEVER = "safety_lever"
    STALE_RUN = "stale_run"
    INTENT = "intent"  # the undo log: announced before the side effect ...
    INTENT_DONE = "intent_done"  # ... what it made ...
    UNDONE = "undone"  # ... and its undo
    PROVISIONED = "provisioned"
    COMPONENTS = "components"  # the versions of Kubernetes, NTH, CA and LBC the run ran against
    API_RETRIES = "api_retries"
    NODE = "node"  # observers: Kubernetes
    POD = "pod"
    DEPLOYMENT = "deployment"
    EVENT = "event"
    TARGET = "target"  # observers: AWS
    INSTANCE = "instance"
    ASG_ACTIVITY = "asg_activity"
    FIS = "fis"
    FIS_ACTION = "fis_action"
    TRAFFIC = "traffic"  # one per second of load
    TRAFFIC_SUMMARY = "traffic_summary"
    PLAN = "plan"
    DRY_RUN = "dry_run"
    STEADY_STATE = "steady_state"
    INJECTED = "injected"
    RECLAIM_SENT = "reclaim_sent"
    ABORT = "abort"
    ERROR = "error"
    ROLLBACK = "rollback"
    VERDICT = "verdict"


KNOWN_KINDS = frozenset(RecordKind)


def unknown_kinds(records: list[Record]) -> dict[str, int]:
    """Kinds this version does not know, with how many records each (a newer version wrote them)."""
    out: dict[str, int] = {}
    for r in records:
        if r["kind"] not in KNOWN_KINDS:
            out[r["kind"]] = out.get(r["kind"], 0) + 1
    return out


class JournalError(ChaosError):
    """A journal file cannot be read."""


class Journal:
    """Thread-safe: observers write from their own threads.  A run's journal is its own: it is
    created new (never appended to an existing one), except by `append_to` for cleanup's records."""

    def __init__(self, path: Path, clock: RunClock, *, append: bool = False) -> None:
        self.path = path
        self.clock = clock
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a" if append else "x", encoding="utf-8")
        except FileExistsError:
            raise JournalError(f"{path} already holds a run's journal; give each run its own --report-dir") from None
        except OSError as exc:
            raise JournalError(f"{path}: cannot write the journal: {exc.strerror or exc}") from None
        self._lock = threading.Lock()
        self.records: list[Record] = []
        self.listeners: list[Callable[[Record], None]] = []

    def write(self, kind: str, t: float | None = None, *, durable: bool = False, **fields: Any) -> Record:
        """Append a record; `durable` also fsyncs it, for the undo log's intents, which must be on
        disk before the action they announce."""
        record: Record = {"t": round(self.clock.now() if t is None else t, 3), "wall": self.clock.wall(), "kind": kind, **fields}
        line = json.dumps(record, default=str, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            if durable:
                os.fsync(self._file.fileno())
            self.records.append(record)
        for listener in list(self.listeners):
            listener(record)
        return record

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


def read_journal(path: Path) -> list[Record]:
    """Every readable record.  A line that is not a JSON record with a numeric `t` and a `kind`
    (cut short by a killed run, garbled on disk) is skipped, not fatal: what was recorded around it
    still reports.  The first record must be the experiment."""
    if os.path.exists(path) and not os.path.isfile(path):  # a device or a pipe would never end
        raise JournalError(f"{shown(str(path))}: not a regular file; give a run's directory or its journal.jsonl")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{shown(str(path))}: cannot read the journal: {exc.strerror or exc}") from None
    records: list[Record] = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(record, dict) and isinstance(record.get("kind"), str) and isinstance(record.get("t"), int | float) and not isinstance(record["t"], bool):
            records.append(record)
    if not records or records[0]["kind"] != "experiment":
        raise JournalError(f"{shown(str(path))}: does not start with an experiment record; is this a spotchaos journal?")
    return records
