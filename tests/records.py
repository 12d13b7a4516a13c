"""Journal records written as dicts in tests, read as the journal reads them (typed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chaos.journal import Record, parse_record


def typed(records: Iterable[dict[str, Any] | Record]) -> list[Record]:
    """Each dict as the journal would hand it to readers (a record that does not fit its kind
    raises); a record already typed is kept."""
    return [parse_record(r) if isinstance(r, dict) else r for r in records]
