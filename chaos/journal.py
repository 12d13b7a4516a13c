"""The run's journal: one JSON object per line, appended and flushed as things happen, so a killed
run still leaves a readable record.  Every record has `t` (cluster seconds since the run started),
`wall` (UTC) and `kind`; reports and verdicts are rebuilt from it alone."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.clock import RunClock
from chaos.errors import ChaosError

Record = dict[str, Any]


class JournalError(ChaosError):
    """A journal file cannot be read."""


class Journal:
    """Thread-safe: observers write from their own threads."""

    def __init__(self, path: Path, clock: RunClock) -> None:
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self.records: list[Record] = []
        self.listeners: list[Callable[[Record], None]] = []

    def write(self, kind: str, t: float | None = None, **fields: Any) -> Record:
        record: Record = {"t": round(self.clock.now() if t is None else t, 3), "wall": self.clock.wall(), "kind": kind, **fields}
        line = json.dumps(record, default=str, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
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
    """Every complete record; a last line cut short by a killed run is skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal: {exc.strerror or exc}") from None
    records: list[Record] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # the run was killed while writing it
            raise JournalError(f"{path}: line {number} is not JSON; is this a spotchaos journal?") from None
        if not isinstance(record, dict) or "kind" not in record or "t" not in record:
            raise JournalError(f"{path}: line {number} is not a journal record (needs t and kind)")
        records.append(record)
    if not records or records[0]["kind"] != "experiment":
        raise JournalError(f"{path}: does not start with an experiment record; is this a spotchaos journal?")
    return records
