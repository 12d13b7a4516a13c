"""The run's journal (its record kinds in `records`): one JSON object per line, appended and flushed as things happen, so a killed
run still leaves a readable record.  Every record has `t` (cluster seconds since the run started),
`wall` (UTC) and `kind`; reports and verdicts are rebuilt from it alone.

Writers hand `Journal.write` a record of its kind's class (`NodeRecord(node=..., ready=...)`);
readers get typed records back, and pick a kind with `of(records, NodeRecord)` or `isinstance`."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import structlog

from chaos.clock import RunClock
from chaos.errors import ChaosError, shown
from chaos.journal.records import (
    KNOWN,
    R,
    Record,
    RecordKind,
    RecordProblem,
    UnknownRecord,
    of,
    parse_record,
)
from chaos.redaction import redact_urls

__all__ = ["KNOWN", "Journal", "JournalError", "JournalReading", "Malformed", "Record", "RecordKind", "Unreadable", "UnknownRecord", "journal_file", "of", "parse_record", "read_journal", "read_journal_checked", "unknown_kinds"]

log = structlog.get_logger("journal")


def unknown_kinds(records: list[Record]) -> dict[str, int]:
    """Kinds this version does not know, with how many records each (a newer version wrote them)."""
    out: dict[str, int] = {}
    for r in of(records, UnknownRecord):
        out[r.kind] = out.get(r.kind, 0) + 1
    return out


class JournalError(ChaosError):
    """A journal file cannot be read."""


class Journal:
    """Thread-safe: observers write from their own threads.  A run's journal is its own: it is
    created new (never appended to an existing one), except by `append_to` for cleanup's records."""

    def __init__(self, path: Path, clock: RunClock, *, append: bool = False) -> None:
        self.path = path
        self.clock = clock
        if path.parent.exists() and not path.parent.is_dir():
            raise JournalError(f"{path.parent} is a file, not a directory; give --report-dir a directory (new or empty)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_APPEND: every line goes to the end even when another process appends too (`spotchaos note`)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if append else os.O_EXCL), 0o644)
            self._file = os.fdopen(fd, "a", encoding="utf-8")
        except FileExistsError:
            raise JournalError(f"{path} already holds a run's journal; give each run its own --report-dir") from None
        except OSError as exc:
            raise JournalError(f"{path}: cannot write the journal: {exc.strerror or exc}") from None
        self._lock = threading.Lock()
        self.records: list[Record] = []
        self.malformed: list[Malformed] = []
        self._lines = _line_count(path) if append else 0
        self.listeners: list[Callable[[Record], None]] = []

    def write(self, record: R, t: float | None = None, *, durable: bool = False, last: bool = False) -> R:
        """Append a record, dated now (or at cluster time `t`); `durable` also fsyncs it, for the
        undo log's intents, which must be on disk before the action they announce; `last` closes
        the journal with it, under the same lock, so that no thread's record comes after (a run's
        verdict).  A record written once the journal is closed is dropped, with a warning.

        The record kept in memory (and given to the listeners) is the one on disk, read back, so the
        run's own verdict and a report rebuilt from the file read the same values.  A record that
        does not fit its kind's fields (a writer's bug, built with `model_construct`) is still
        written, so nothing is lost, but is kept from the listeners and the verdict, as
        `read_journal` keeps it from reports, and counted in `malformed`."""
        head = {"t": round(self.clock.now() if t is None else t, 3), "wall": self.clock.wall(), "kind": record.kind}
        with self._lock:
            if self._file.closed:
                log.warning("journal.write_after_close", kind=record.kind, path=str(self.path))
                return record
            # `seq`, the record's line in its journal, makes each record one of a kind: a line
            # copied twice (a journal appended to itself, a sync tool's retry) is a repeat readers drop
            line = redact_urls(json.dumps(head | record.fields() | {"seq": self._lines + 1}, default=str, separators=(",", ":")))
            problem: str | None = None
            try:
                written = cast(R, parse_record(json.loads(line)))  # the same kind: the same class
            except RecordProblem as exc:
                problem, written = str(exc), record
            self._file.write(line + "\n")
            self._file.flush()
            if durable:
                os.fsync(self._file.fileno())
            if problem is not None:
                self.malformed.append(Malformed(self._lines + 1, record.kind, problem))
            else:
                self.records.append(written)
            self._lines += 1
            if last:
                self._file.close()
        if problem is not None:
            log.warning("journal.malformed_record", kind=record.kind, problem=problem)
            return written
        for listener in list(self.listeners):
            listener(written)
        return written

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


JOURNAL_FILE = "journal.jsonl"


def journal_file(path: Path) -> Path:
    """The journal a command was given: a run's directory means its journal.jsonl; anything else
    is taken as the journal itself (and refused by the reader when it is not a regular file)."""
    try:
        is_dir = path.is_dir()
    except OSError:  # a name the system cannot even look up (too long): reading it says why
        is_dir = False
    return path / JOURNAL_FILE if is_dir else path


def _line_count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


@dataclass(frozen=True)
class Malformed:
    """A record of a known kind that does not fit its fields: its line in the journal and why."""

    line: int
    kind: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.kind}): {self.problem}"


@dataclass
class JournalReading:
    records: list[Record]
    malformed: list[Malformed] = field(default_factory=list)  # left out of `records`
    unreadable: list[Unreadable] = field(default_factory=list)  # lines that are no record at all
    repeats: list[int] = field(default_factory=list)  # lines that repeat an earlier record exactly: dropped

    def left_out(self) -> list[str]:
        """What this reading did not use, one phrase each, for reports and cleanup to list."""
        out = [str(m) for m in self.malformed] + [str(u) for u in self.unreadable]
        if self.repeats:
            out.append(f"{len(self.repeats)} repeated line{'s' if len(self.repeats) > 1 else ''} dropped ({_lines(self.repeats)})")
        return out


@dataclass(frozen=True)
class Unreadable:
    """A line that is not a JSON record with a numeric `t` and a `kind` (cut short by a killed run,
    garbled on disk, a number too long to read), and the kind it names if one can be seen in it."""

    line: int
    why: str
    kind: str | None = None

    def __str__(self) -> str:
        return f"line {self.line}{f' ({self.kind})' if self.kind else ''}: {self.why}"


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:5])
    return f"lines {shown}{', ...' if len(numbers) > 5 else ''}" if len(numbers) > 1 else f"line {shown}"


_KIND_IN_TEXT = re.compile(r'"kind"\s*:\s*"([a-z_]{1,40})"')


def read_journal(path: Path) -> list[Record]:
    """Every readable record that fits its kind (see `read_journal_checked`)."""
    return read_journal_checked(path).records


def read_journal_checked(path: Path) -> JournalReading:
    """Every readable record, and the ones left out.  A line that is not a JSON record with a
    numeric `t` and a `kind` (cut short by a killed run, garbled on disk) is skipped; a record of a
    known kind whose fields do not fit it is left out and listed; a kind this version does not know
    is kept (a newer version wrote it; reports list it).  None of these is fatal: what was recorded
    around them still reports.  The first record must be the experiment."""
    if os.path.exists(path) and not os.path.isfile(path):  # a device or a pipe would never end
        raise JournalError(f"{shown(str(path))}: not a regular file; give a run's directory or its journal.jsonl")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{shown(str(path))}: cannot read the journal: {exc.strerror or exc}") from None
    reading = JournalReading([])
    seen: set[str] = set()
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            record = json.loads(text)
        except (ValueError, RecursionError) as exc:  # ValueError also for a number past Python's 4,300 digits
            found = _KIND_IN_TEXT.search(text[:4096])
            why = "a number too long to read" if "digits" in str(exc) else "not a JSON record (cut short or garbled)"
            reading.unreadable.append(Unreadable(number, why, found.group(1) if found else None))
            continue
        if not (isinstance(record, dict) and isinstance(record.get("kind"), str) and isinstance(record.get("t"), int | float)
                and not isinstance(record["t"], bool)):
            reading.unreadable.append(Unreadable(number, "not a record with a numeric t and a kind"))
            continue
        if text in seen:
            reading.repeats.append(number)
            continue
        seen.add(text)
        try:
            reading.records.append(parse_record(record))
        except RecordProblem as exc:
            reading.malformed.append(Malformed(number, record["kind"], str(exc)))
    if not reading.records or reading.records[0].kind != RecordKind.EXPERIMENT:
        raise JournalError(f"{shown(str(path))}: does not start with an experiment record; is this a spotchaos journal?")
    return reading
