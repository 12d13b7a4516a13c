"""The run's journal: one JSON object per line, appended and flushed as things happen, so a killed
run still leaves a readable record.  Every record has `t` (cluster seconds since the run started),
`wall` (UTC) and `kind`; reports and verdicts are rebuilt from it alone."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.clock import RunClock
from chaos.errors import ChaosError, shown

Record = dict[str, Any]


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
