"""Hostile input and bad timing, round 2: each case an adversarial run found after the crash-safety
work (forged pids, duplicated and corrupt journal lines, FIFOs, secrets in URLs, absurd numbers,
usage errors), each one answered with a clear line and the documented exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chaos.cli import app
from cluster.endpoints import Endpoints, is_recorded_simulator

runner = CliRunner()


def _endpoints_file(state: Path, **fields: object) -> None:
    state.mkdir(parents=True, exist_ok=True)
    data = {"target": "local", "aws_endpoint_url": "http://127.0.0.1:1", "region": "us-east-1", "kubeconfig": "k"} | fields
    (state / "endpoints.json").write_text(json.dumps(data))


@pytest.mark.parametrize("pid", [0, -1, True, 1, "1", 1.5, [2]])
def test_sim_down_refuses_a_pid_that_is_not_one_process(tmp_path, pid):
    """pid 0 would signal the caller's own process group, -1 every process, `true` reads as 1 (init)."""
    state = tmp_path / "state"
    _endpoints_file(state, pid=pid, extra={})  # no start time: before, the pid check alone decided
    result = runner.invoke(app, ["sim", "down", "--state-dir", str(state)])
    assert result.exit_code == 3, result.output
    assert "pid" in result.output and "not signalling" in result.output, result.output
    assert len([x for x in result.output.splitlines() if x.strip()]) == 1, result.output


def test_a_live_process_is_not_a_simulator_without_its_start_time_and_command_line(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        from cluster.endpoints import process_start_ticks

        ticks = str(process_start_ticks(bystander.pid))
        base = {"target": "local", "aws_endpoint_url": None, "region": "r", "kubeconfig": "k", "pid": bystander.pid}
        # the right start time, but not `sim up`'s command line
        assert not is_recorded_simulator(Endpoints.from_dict(base | {"extra": {"pid_start_ticks": ticks}}))
        # no start time recorded: never the pid alone
        assert not is_recorded_simulator(Endpoints.from_dict(base | {"extra": {}}))
        # this very process is `pytest`: neither
        mine = base | {"pid": os.getpid(), "extra": {"pid_start_ticks": str(process_start_ticks(os.getpid()))}}
        assert not is_recorded_simulator(Endpoints.from_dict(mine))
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize(("field", "value"), [("clock_speed", True), ("region", 5), ("extra", {"a": 1}), ("pid", 0), ("nosuch", 1)])
def test_an_endpoints_file_of_wrong_types_is_refused_by_field(field, value):
    base = {"target": "local", "aws_endpoint_url": None, "region": "r", "kubeconfig": "k"}
    with pytest.raises(ValueError, match=field):
        Endpoints.from_dict(base | {field: value})


def _written_journal(tmp_path: Path) -> Path:
    """The hand-written passing journal of test_verdicts, written as a run writes it (with `seq`)."""
    from chaos.clock import RunClock
    from chaos.journal import Journal
    from tests.unit.test_verdicts import good_journal

    from chaos.spec import parse_experiment
    from chaos.verify import verdict

    journal = Journal(tmp_path / "journal.jsonl", RunClock())
    records = good_journal()
    for r in records:
        journal.write(r["kind"], t=r["t"], **{k: v for k, v in r.items() if k not in ("t", "kind")})
    journal.write("verdict", t=records[-1]["t"], **verdict(parse_experiment(records[0]["spec"], "test"), records).as_dict())
    journal.close()
    return journal.path


def test_a_journal_appended_to_itself_reads_once_and_says_so(tmp_path):
    from chaos.journal import read_journal_checked
    from chaos.report.write import write_reports

    path = _written_journal(tmp_path)
    alone, _ = write_reports(path, tmp_path / "alone")
    assert alone.verdict.status == "passed", alone.verdict.reason
    lines = path.read_text()
    path.write_text(lines + lines)  # appended twice, as a copy or a sync tool's retry leaves it
    reading = read_journal_checked(path)
    assert len(reading.repeats) == len(lines.splitlines()) and reading.records == read_journal_checked_once(lines, tmp_path)
    twice, paths = write_reports(path, tmp_path / "twice")
    assert twice.verdict.status == "passed", twice.verdict.reason
    assert [h.measured for h in twice.verdict.hypotheses] == [h.measured for h in alone.verdict.hypotheses]
    assert "repeated lines dropped" in paths["markdown"].read_text()


def read_journal_checked_once(text: str, tmp_path: Path) -> list[dict]:
    from chaos.journal import read_journal_checked

    once = tmp_path / "once" / "journal.jsonl"
    once.parent.mkdir()
    once.write_text(text)
    return read_journal_checked(once).records


def test_a_breach_names_what_breached_it_never_a_value_inside_its_bound():
    from chaos.milestones import NodeMilestones  # noqa: F401 - the judge reads folded milestones
    from chaos.spec import parse_experiment
    from chaos.verify import evaluate
    from tests.unit.test_verdicts import SPEC, good_journal, node

    records = good_journal()
    # a second node interrupted whose replacement never came: the first's 210 s is inside the bound
    other = {"node": "ip-10-0-0-11.ec2.internal", "instance": "i-0ccccccccccccccc3"}
    records += [node(90.0, **other), {"t": 121.0, "kind": "injected", "injection": "one", "via": "metadata", "action": "spot-interruption",
                                      "instance": other["instance"], "node": other["node"], "reclaim_t": 241.0},
                {"t": 241.5, "kind": "instance", "instance": other["instance"], "state": "shutting-down"}]
    records.sort(key=lambda r: r["t"])
    spec = parse_experiment(SPEC, "test")
    result = next(h for h in evaluate(spec, records, 1000.0, final=True) if h.check == "replacement-ready-within")
    assert result.status == "fail"
    assert "worst" not in result.measured and "no replacement ready" in result.measured, result.measured


def _journal_with(tmp_path: Path, bad_line: bytes, dead_pid: int) -> Path:
    endpoints = {"target": "local", "aws_endpoint_url": "http://127.0.0.1:1", "region": "us-east-1", "kubeconfig": "k", "pid": dead_pid,
                 "extra": {"pid_start_ticks": "1"}}
    records = [{"t": 0.0, "wall": "", "kind": "experiment", "name": "x", "spec": {"name": "x", "injections": [{"via": "fis"}],
                                                                                  "hypotheses": [{"check": "error-rate", "max": 0.01}]}, "run_id": "x-20261204-abc"},
               {"t": 1.0, "wall": "", "kind": "connected", "target": "local", "speed": 10.0, "endpoints": endpoints},
               {"t": 2.0, "wall": "", "kind": "intent", "intent": 1, "action": "create FIS template", "undo": "delete-fis-template",
                "stage": "fault", "params": {"template": "EXT1"}}]
    path = tmp_path / "run" / "journal.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records) + bad_line + b"\n")
    return path


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_number_too_long_to_read_does_not_stop_cleanup_or_report(tmp_path, dead_pid):
    huge = b'{"t": 3.0, "kind": "traffic", "second": ' + b"9" * 5000 + b', "start_t": 0, "end_t": 1, "requests": 1}'
    path = _journal_with(tmp_path, huge, dead_pid)
    result = runner.invoke(app, ["cleanup", str(path.parent)])
    assert result.exit_code == 0, result.output
    assert "undone" in result.output and "line 4 (traffic): a number too long to read" in result.output, result.output
    result = runner.invoke(app, ["report", str(path.parent), "--out", str(tmp_path / "out")])
    assert result.exit_code in (0, 1, 2, 3) and result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "a number too long to read" in (tmp_path / "out" / "report.md").read_text()


def test_an_unreadable_intent_makes_cleanup_exit_3_after_undoing_the_rest(tmp_path, dead_pid):
    huge = b'{"t": 3.0, "kind": "intent", "intent": ' + b"9" * 5000 + b', "action": "start FIS experiment"}'
    path = _journal_with(tmp_path, huge, dead_pid)
    result = runner.invoke(app, ["cleanup", str(path.parent)])
    assert result.exit_code == 3, result.output
    assert "undone delete FIS template" in result.output  # the readable intent was replayed
    assert "cleanup --run-id x-20261204-abc" in result.output, result.output


def test_the_markdown_report_shows_a_description_as_text_never_as_html(tmp_path):
    from chaos.report.markdown import md_text

    assert "<script>" not in md_text("<script>alert(1)</script>") and "&lt;script&gt;" in md_text("<script>")
    path = _written_journal(tmp_path)
    lines = path.read_text().splitlines()
    head = json.loads(lines[0])
    head["spec"]["description"] = "<script>alert(1)</script> | *bold* [link](http://x)"
    path.write_text("\n".join([json.dumps(head)] + lines[1:]) + "\n")
    result = runner.invoke(app, ["report", str(path.parent), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "report.md").read_text()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
