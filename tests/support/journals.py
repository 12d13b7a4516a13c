"""Reading a real run's journal in a test: every record must fit its kind (chaos/journal/records.py),
so a writer that drifts from its record's fields fails the test that ran it, not a user's report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.journal import read_journal_checked


def read_whole_journal(path: Path) -> list[dict[str, Any]]:
    """Every record, checked against its kind, as its line holds it (the tests assert on what was written)."""
    reading = read_journal_checked(path)
    assert not reading.malformed, f"{path}: records that do not fit their kind: " + "; ".join(map(str, reading.malformed))
    return [r.as_json() for r in reading.records]
