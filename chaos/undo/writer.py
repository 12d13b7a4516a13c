"""Writing the undo log into a run's journal: an intent is fsynced before its action, its result
and each undo after."""

from __future__ import annotations

import threading
from typing import Any

from chaos.journal import Journal
from chaos.journal.records import IntentDoneRecord, IntentRecord, UndoneRecord
from chaos.undo.log import Stage, UndoOp, intents


class UndoWriter:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._lock = threading.Lock()
        self._next = max((i.id for i in intents(journal.snapshot())), default=0) + 1

    def intent(self, action: str, undo: UndoOp, stage: Stage, **params: Any) -> int:
        with self._lock:
            number, self._next = self._next, self._next + 1
        self.journal.write(IntentRecord(intent=number, action=action, undo=undo, stage=stage, params=params), durable=True)
        return number

    def done(self, intent: int, **result: Any) -> None:
        self.journal.write(IntentDoneRecord(intent=intent, result=result), durable=True)

    def undone(self, intent: int, ok: bool, detail: str, by: str) -> None:
        self.journal.write(UndoneRecord(intent=intent, ok=ok, detail=detail, by=by), durable=True)
