"""Typed journal records: each kind's fields, checked when written and when read.  A record that
does not fit its kind is kept on disk and listed, never handed to the verdict; a kind this version
does not know still reads; journals of older versions (fewer fields) read whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from chaos.clock import RunClock
from chaos.journal import Journal, read_journal, read_journal_checked, unknown_kinds
from chaos.journal.records import (
    CLASS_OF,
    ExperimentRecord,
    NodeRecord,
    RecordKind,
    RecordProblem,
    UndoneRecord,
    parse_record,
)
from chaos.report.write import write_reports
from chaos.undo.cleanup import cleanup_run_dir
from tests.unit.test_verdicts import good_journal


def record_problem(record: dict) -> str | None:
    try:
        parse_record(record)
    except RecordProblem as exc:
        return str(exc)
    return None


def _as_written(r) -> dict:
    return {"t": r.t, "kind": r.kind} | r.fields()


def _write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_every_kind_this_version_writes_has_its_fields():
    assert set(CLASS_OF) == set(RecordKind)
    assert all(CLASS_OF[k].model_fields["kind"].default == k for k in RecordKind)


@pytest.mark.parametrize(("record", "named"), [
    ({"t": 1.0, "kind": "node", "ready": True}, "node: field required"),
    ({"t": 1.0, "kind": "traffic", "second": "3", "start_t": 1.0, "end_t": 2.0, "requests": 10}, "second: input should be a valid integer"),
    ({"t": 1.0, "kind": "pod", "pod": "default/a", "ready": 1}, "ready: input should be a valid boolean"),
    ({"t": 1.0, "kind": "target", "target": "10.0.0.1", "state": "healthy", "port": True}, "port: input should be a valid integer"),
    ({"t": 1.0, "kind": "rollback", "step": "stop FIS", "ok": True}, "detail: field required"),
])
def test_a_record_that_does_not_fit_its_kind_is_named_by_field(record, named):
    assert named in (record_problem(record) or "")


def test_fields_a_kind_does_not_list_and_kinds_this_version_does_not_know_fit():
    assert record_problem({"t": 1.0, "kind": "node", "node": "n1", "ready": True, "added_by_a_newer_version": [1]}) is None
    assert record_problem({"t": 1.0, "kind": "wormhole", "anything": object()}) is None
    assert record_problem({"t": 1, "kind": "traffic", "second": 0, "start_t": 0, "end_t": 1, "requests": 0}) is None  # a float takes an int


def test_a_journal_of_an_older_version_with_fewer_fields_reads_whole(tmp_path):
    older = [{"t": 0.0, "kind": "experiment", "name": "x"},
             {"t": 1.0, "kind": "node", "node": "n1", "instance": "i-1", "ready": True, "unschedulable": False, "deleted": False},
             {"t": 2.0, "kind": "pod", "pod": "default/a", "node": "n1", "ip": None, "ready": True},
             {"t": 3.0, "kind": "injected", "instance": "i-1", "node": "n1", "reclaim_t": 123.0},
             {"t": 4.0, "kind": "traffic", "second": 0, "start_t": 3.0, "end_t": 4.0, "requests": 5}]
    reading = read_journal_checked(_write_lines(tmp_path / "journal.jsonl", older))
    assert reading.malformed == []
    assert [_as_written(r) for r in reading.records] == older


def test_a_malformed_record_is_listed_with_its_line_and_left_out_and_the_rest_reads(tmp_path):
    records = good_journal()
    bad = {"t": 5.0, "kind": "pod", "pod": "default/ghost", "ready": "yes"}
    path = _write_lines(tmp_path / "journal.jsonl", [*records[:3], bad, *records[3:], {"t": 6.0, "kind": "hologram", "x": 1}])
    reading = read_journal_checked(path)
    assert [(m.line, m.kind) for m in reading.malformed] == [(4, "pod")]
    assert "ready" in reading.malformed[0].problem
    assert bad not in [_as_written(r) for r in reading.records] and len(reading.records) == len(records) + 1
    assert unknown_kinds(reading.records) == {"hologram": 1}
    assert read_journal(path) == reading.records

    data, paths = write_reports(path, tmp_path / "out")
    assert data.malformed == tuple(reading.malformed)
    markdown = paths["markdown"].read_text()
    assert "do not fit their kind" in markdown and "line 4 (pod)" in markdown
    assert json.loads(paths["json"].read_text())["malformed_records"] == [str(reading.malformed[0])]


def test_a_writer_that_drifts_from_its_kind_keeps_the_record_on_disk_but_not_in_the_verdict(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl", RunClock())
    heard: list = []
    journal.listeners.append(heard.append)
    journal.write(ExperimentRecord(name="x"))
    good = journal.write(NodeRecord(node="n1", instance="i-1", ready=True, labels=("a", "b")))
    with capture_logs() as logged:
        journal.write(NodeRecord.model_construct(instance="i-2", ready=True))  # no node name: a writer's bug, past validation
    journal.close()
    assert [(e["event"], e["kind"]) for e in logged] == [("journal.malformed_record", "node")]
    assert [m.line for m in journal.malformed] == [3] and "node: field required" in journal.malformed[0].problem
    assert [r.kind for r in journal.records] == ["experiment", "node"] and heard == journal.records
    # what the run kept in memory is what the file holds, read back (the tuple is a list on disk too)
    assert (good.model_extra or {})["labels"] == ["a", "b"]
    on_disk = read_journal_checked(journal.path)
    assert on_disk.records == journal.records and on_disk.malformed == journal.malformed
    assert len(journal.path.read_text().splitlines()) == 3


def test_a_record_written_last_stays_last_whatever_a_thread_writes_after(tmp_path):
    """A run's verdict closes its journal under the writers' lock: an observer thread that has
    not stopped yet (a second Ctrl-C cut the rollback short) cannot put a record after it."""
    journal = Journal(tmp_path / "journal.jsonl", RunClock())
    journal.write(ExperimentRecord(name="x"))
    journal.write(NodeRecord(node="n1", instance="i-1", ready=True), last=True)
    with capture_logs() as logged:
        late = NodeRecord(node="n2", instance="i-2", ready=True)
        assert journal.write(late) is late
    assert [(e["event"], e["kind"]) for e in logged] == [("journal.write_after_close", "node")]
    assert [r.kind for r in read_journal(journal.path)][-1] == "node" and len(journal.path.read_text().splitlines()) == 2
    assert [getattr(r, "node", None) for r in journal.snapshot()] == [None, "n1"]


def test_appended_records_are_numbered_after_the_lines_already_there(tmp_path):
    path = _write_lines(tmp_path / "journal.jsonl", good_journal())
    journal = Journal(path, RunClock(), append=True)
    with capture_logs():
        journal.write(UndoneRecord.model_construct(intent="one", ok=True))
    journal.close()
    assert [m.line for m in journal.malformed] == [len(good_journal()) + 1]


async def test_cleanup_replays_what_it_can_read_and_says_an_intent_was_unreadable(tmp_path):
    records = [{"t": 0.0, "kind": "experiment", "name": "x", "run_id": "20261127-abc"},
               {"t": 1.0, "kind": "intent", "intent": 1, "action": "start FIS experiment", "undo": "stop_fis_experiment", "stage": "fault"}]
    _write_lines(tmp_path / "journal.jsonl", records)
    cleaned = await cleanup_run_dir(tmp_path)
    assert cleaned.done == [] and cleaned.intent_unreadable and not cleaned.ok
    assert cleaned.unreadable == ["line 2 (intent): params: field required"]
