"""The undo log's pure reading (what is still to undo, newest first; what rollback left behind),
the verdict of a run whose rollback failed, a journal that is never shared by two runs, and run
identity (unique ids, an owner that is alive or gone)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chaos.clock import RunClock
from chaos.identity import Owner, new_run_id
from chaos.journal import Journal, JournalError
from chaos.journal.records import (
    ConnectedRecord,
    ExperimentRecord,
    InjectedRecord,
    IntentRecord,
    TrafficRecord,
    UndoneRecord,
    VerdictRecord,
)
from chaos.spec import parse_experiment
from chaos.undo.log import Stage, UndoOp, intents, pending, undo_step_name
from chaos.undo.writer import UndoWriter
from chaos.verdict.outcome import left_behind, verdict
from tests.records import typed

SPEC = parse_experiment({"name": "x", "injections": [{"via": "fis"}], "hypotheses": [{"check": "error-rate", "max": 0.5}]})


def _journal(tmp_path):
    j = Journal(tmp_path / "journal.jsonl", RunClock())
    j.write(ExperimentRecord(name="x", run_id="x-1"))
    return j, UndoWriter(j)


def test_pending_is_newest_first_and_undone_ones_drop_out(tmp_path):
    j, undo = _journal(tmp_path)
    role = undo.intent("create role", UndoOp.DELETE_IAM_ROLE, Stage.FAULT, role_name="r")
    undo.done(role, role_arn="arn:r")
    cluster = undo.intent("provision", UndoOp.TEAR_DOWN_CLUSTER, Stage.SETUP, profile="hardened")
    template = undo.intent("create template", UndoOp.DELETE_FIS_TEMPLATE, Stage.FAULT)  # the run died before the answer
    assert [i.id for i in pending(typed(j.snapshot()))] == [template, cluster, role]
    assert [i.id for i in pending(typed(j.snapshot()), Stage.FAULT)] == [template, role]
    by_id = {i.id: i for i in intents(typed(j.snapshot()))}
    assert by_id[role].args == {"role_name": "r", "role_arn": "arn:r"} and by_id[template].result is None
    assert undo_step_name(by_id[template]) == "delete FIS template (found by tag)"
    undo.undone(template, True, "deleted", by="rollback")
    assert [i.id for i in pending(typed(j.snapshot()))] == [cluster, role]


def test_a_failed_undo_is_left_behind_until_a_later_undo_succeeds(tmp_path):
    j, undo = _journal(tmp_path)
    n = undo.intent("start FIS experiment", UndoOp.STOP_FIS_EXPERIMENT, Stage.FAULT)
    j.write(InjectedRecord(instance="i-0123456789abcdef0"))
    j.write(TrafficRecord(second=0, start_t=0.0, end_t=1.0, requests=100))  # every hypothesis holds
    undo.undone(n, False, "ServiceUnavailable", by="rollback")
    j.write(VerdictRecord())
    assert left_behind(typed(j.snapshot())) == ["start FIS experiment: ServiceUnavailable"]
    v = verdict(SPEC, typed(j.snapshot()))
    assert v.status == "error" and "spotchaos cleanup" in v.reason and v.exit_code == 3  # never 'passed' with a fault left running
    undo.undone(n, True, "stopped", by="cleanup")
    assert left_behind(typed(j.snapshot())) == [] and pending(typed(j.snapshot())) == []


def test_an_undo_op_this_version_does_not_know_is_skipped_not_fatal(tmp_path):
    j, _ = _journal(tmp_path)
    j.write(IntentRecord(intent=1, action="future thing", undo="delete-spaceship", stage="fault", params={}))
    assert pending(typed(j.snapshot())) == []


def test_a_run_never_appends_to_another_runs_journal(tmp_path):
    _journal(tmp_path)
    with pytest.raises(JournalError, match="already holds a run's journal"):
        Journal(tmp_path / "journal.jsonl", RunClock())
    cleanup = Journal(tmp_path / "journal.jsonl", RunClock(), append=True)  # cleanup adds its undone records
    cleanup.write(UndoneRecord(intent=1, ok=True, detail="", by="cleanup"))
    cleanup.close()
    assert (tmp_path / "journal.jsonl").read_text().count("\n") == 2


def test_run_ids_do_not_collide_within_a_second_and_owners_are_alive_or_gone():
    assert len({new_run_id("same name") for _ in range(200)}) == 200
    me = Owner.me()
    assert me.alive() is True
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    gone = Owner(int(done.stdout), me.host, None)
    assert gone.alive() is False
    assert Owner(me.pid, me.host, (me.start_ticks or 0) + 1).alive() is False  # a reused pid is not the owner


def test_cleanup_all_stale_lists_then_cleans_runs_whose_owner_is_gone(tmp_path, monkeypatch):
    """A run killed with its faults on a simulator that has since exited: listed, then cleaned
    ("gone with the simulator"); a stale run whose directory was deleted is pointed at --run-id and
    no longer listed."""
    from typer.testing import CliRunner

    from chaos import live_runs as run_registry
    from chaos.cli import app
    from chaos.journal import read_journal

    monkeypatch.setenv("SPOTCHAOS_RUNS_DIR", str(tmp_path / "runs"))
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead = int(done.stdout)
    owner = {"pid": dead, "host": Owner.me().host, "start_ticks": None}
    run_dir = tmp_path / "run"
    j = Journal(run_dir / "journal.jsonl", RunClock())
    j.write(ExperimentRecord(name="x", run_id="x-1", owner=owner))
    j.write(ConnectedRecord(target="local", simulator_pid=dead, endpoints={"target": "local", "aws_endpoint_url": "http://127.0.0.1:9", "region": "us-east-1", "kubeconfig": "k", "pid": dead, "extra": {}}))
    UndoWriter(j).intent("start FIS experiment", UndoOp.STOP_FIS_EXPERIMENT, Stage.FAULT)
    j.close()
    for run_id, directory in (("x-1", run_dir), ("y-2", tmp_path / "deleted")):
        run_registry.register(run_registry.RunEntry(run_id, str(directory), Owner(dead, owner["host"], None), "local||"))
    runner = CliRunner()
    listed = runner.invoke(app, ["cleanup", "--all-stale"])
    assert listed.exit_code == 0 and "x-1" in listed.output and "y-2" in listed.output and "journal is gone" in listed.output
    cleaned = runner.invoke(app, ["cleanup", "--all-stale", "--yes"])
    assert cleaned.exit_code == 0, cleaned.output
    assert "gone with the simulator" in cleaned.output and "--run-id y-2" in cleaned.output
    assert run_registry.entries() == []
    assert pending(typed(read_journal(run_dir / "journal.jsonl"))) == []
    assert "no stale runs" in runner.invoke(app, ["cleanup", "--all-stale"]).output


def test_the_runs_on_a_cluster_now_are_the_live_ones_of_other_runs(tmp_path):
    """What refuses a second run beside a live one (chaos/run/connect.py): a run whose owner is
    gone is stale, not running, and one that wrote its verdict has ended; the asking run and other
    clusters do not count."""
    from chaos import live_runs as run_registry

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    me, gone = Owner.me(), Owner(int(done.stdout), Owner.me().host, None)
    for run_id, owner, key in (("live", me, "local|http://a|"), ("dead", gone, "local|http://a|"), ("elsewhere", me, "local|http://b|"), ("asking", me, "local|http://a|")):
        run_registry.register(run_registry.RunEntry(run_id, str(tmp_path / run_id), owner, key), tmp_path)
    assert [e.run_id for e in run_registry.running_on("local|http://a|", "asking", tmp_path)] == ["live"]
    assert run_registry.running_on("local|http://c|", "asking", tmp_path) == []
    # its verdict written (something was left to undo, so it stays registered): ended, not running
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "journal.jsonl").write_text('{"t":1.0,"kind":"phase","phase":"rollback"}\n{"t":2.0,"kind":"verdict","status":"error"}\n')
    assert run_registry.running_on("local|http://a|", "asking", tmp_path) == []
