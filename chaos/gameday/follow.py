"""Reading a journal another process is writing: the observers' side of a game day.  `follow`
yields records as whole lines appear (a line still being written waits for its newline), from a
local file or a copy kept in sync from S3 or a shared file system; `append_note` adds an
observer's note at the cluster time it is typed, computed from the journal's own timeline, with
one O_APPEND write, so it never tears a line the run is writing."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from chaos.clock import RunClock
from chaos.journal import JournalError, Record, journal_file, of, read_journal
from chaos.journal.records import (
    NoteRecord,
    RecordProblem,
    VerdictRecord,
    parse_record,
    run_speed,
)

POLL_SECONDS = 0.2  # how often `watch` looks for new lines


def parse_line(line: str) -> Record | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # ValueError also for a number past Python's 4,300 digits
        return None
    if not isinstance(record, dict) or not isinstance(record.get("kind"), str) or isinstance(record.get("t"), bool) \
            or not isinstance(record.get("t"), int | float):
        return None
    try:
        return parse_record(record)
    except RecordProblem:
        return None


class Follower:
    """The records of a journal being written, a poll at a time: each `poll` returns the whole
    lines that appeared since the last one (a line still being written waits for its newline)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def poll(self) -> list[Record]:
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        return [r for r in (parse_line(line.decode("utf-8", errors="replace")) for line in lines) if r is not None]


def _seconds(wall: str) -> float:
    return datetime.fromisoformat(wall.replace("Z", "+00:00")).timestamp()


def cluster_now(records: list[Record], wall_now: float) -> float:
    """The run's cluster time now, from its last record that has a wall time and the run's speed."""
    speed = run_speed(records)
    anchor = next((r for r in reversed(records) if r.wall is not None and not isinstance(r, NoteRecord)), None)
    if anchor is None or anchor.wall is None:
        return 0.0
    return round(anchor.t + max(0.0, wall_now - _seconds(anchor.wall)) * speed, 3)


def append_note(run_dir: Path, text: str, author: str) -> Record:
    path = journal_file(run_dir)
    records = read_journal(path)
    if of(records, VerdictRecord):
        raise JournalError(f"{path}: the run has ended; a note now would not be in its timeline (add it to the postmortem)")
    clock = RunClock()
    record = NoteRecord(t=cluster_now(records, _seconds(clock.wall())), wall=clock.wall(), text=text, author=author, role="observer")
    line = (json.dumps(record.as_json(), separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return record
