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
from chaos.journal.records import ExperimentRecord, VerdictRecord
from cluster.endpoints import Endpoints, is_recorded_simulator
from tests.records import typed

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
    from chaos.spec import parse_experiment
    from chaos.verdict.outcome import verdict
    from tests.unit.test_verdicts import good_journal

    journal = Journal(tmp_path / "journal.jsonl", RunClock())
    records = good_journal()
    for r in typed(records):
        journal.write(r, t=r.t)
    journal.write(VerdictRecord(**verdict(parse_experiment(records[0]["spec"], "test"), typed(records)).as_dict()), t=records[-1]["t"])
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
    from chaos.evidence.milestones import NodeMilestones  # noqa: F401 - the judge reads folded milestones
    from chaos.spec import parse_experiment
    from chaos.verdict.outcome import evaluate
    from tests.unit.test_verdicts import SPEC, good_journal, node

    records = good_journal()
    # a second node interrupted whose replacement never came: the first's 210 s is inside the bound
    other = {"node": "ip-10-0-0-11.ec2.internal", "instance": "i-0ccccccccccccccc3"}
    records += [node(90.0, **other), {"t": 121.0, "kind": "injected", "injection": "one", "via": "metadata", "action": "spot-interruption",
                                      "instance": other["instance"], "node": other["node"], "reclaim_t": 241.0},
                {"t": 241.5, "kind": "instance", "instance": other["instance"], "state": "shutting-down"}]
    records.sort(key=lambda r: r["t"])
    spec = parse_experiment(SPEC, "test")
    result = next(h for h in evaluate(spec, typed(records), 1000.0, final=True) if h.check == "replacement-ready-within")
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


def _one_line(result, code: int, *words: str) -> None:
    text = result.output
    assert result.exit_code == code, text
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{text}\n{result.exception!r}"
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    for w in words:
        assert w in text, text


GOOD = {"name": "x", "injections": [{"via": "fis"}], "hypotheses": [{"check": "error-rate", "max": 0.01}]}


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.timeout(30)
@pytest.mark.parametrize("command", [["validate"], ["plan"], ["run", "--no-live"]])
def test_a_fifo_as_the_experiment_is_refused_not_waited_on(fifo, command):
    _one_line(runner.invoke(app, [*command, str(fifo)]), 3, "named pipe")


@pytest.mark.timeout(30)
def test_a_fifo_as_a_body_or_a_journal_is_refused(fifo, tmp_path):
    _one_line(runner.invoke(app, ["load", "http://127.0.0.1:1/", "--body", f"@{fifo}", "--duration", "1s"]), 3, "named pipe")
    _one_line(runner.invoke(app, ["report", str(fifo)]), 3, "not a regular file")
    _one_line(runner.invoke(app, ["watch", str(fifo)]), 3, "not a regular file")
    exp = tmp_path / "exp.yaml"
    exp.write_text(json.dumps(GOOD | {"traffic": {"body": f"@{fifo}"}}))
    _one_line(runner.invoke(app, ["validate", str(exp)]), 3, "not a regular file")


@pytest.mark.timeout(30)
def test_watch_on_a_run_that_died_without_a_verdict_says_so_and_ends(tmp_path, dead_pid):
    path = _journal_with(tmp_path, b"", dead_pid)
    lines = path.read_text().splitlines()
    head = json.loads(lines[0]) | {"owner": {"pid": dead_pid, "host": __import__("socket").gethostname(), "start_ticks": 1}}
    path.write_text("\n".join([json.dumps(head)] + lines[1:]) + "\n")
    result = runner.invoke(app, ["watch", str(path.parent)])
    assert result.exit_code == 2, result.output
    assert f"pid {dead_pid}) is gone and wrote no verdict" in result.output and "spotchaos cleanup" in result.output


def test_a_webhook_password_never_reaches_the_terminal_or_the_journal(tmp_path):
    from chaos.clock import RunClock
    from chaos.delivery.webhook import WebhookFailed, post_json
    from chaos.journal import Journal
    from chaos.redaction import redact_urls

    url = "http://user:PASSWORD@127.0.0.1:1/hook"
    with pytest.raises(WebhookFailed) as caught:
        post_json(url, {"x": 1}, attempts=1)
    assert "PASSWORD" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert redact_urls(f"see {url} and postgresql://u:pw@db/x") == "see http://***@127.0.0.1:1/hook and postgresql://***@db/x"
    journal = Journal(tmp_path / "journal.jsonl", RunClock())
    journal.write(ExperimentRecord(name="x", spec=GOOD | {"traffic": {"url": url}}, run_id="x"))
    journal.close()
    assert "PASSWORD" not in journal.path.read_text()
    _one_line(runner.invoke(app, ["run", "--no-live", str(tmp_path / "none.yaml"), "--notify", "ftp://u:PASSWORD@h/x"]), 3)
    assert "PASSWORD" not in runner.invoke(app, ["run", "--no-live", str(tmp_path / "none.yaml"), "--notify", "ftp://u:PASSWORD@h/x"]).output


def test_a_bad_history_url_is_refused_before_the_run_and_off_is_refused_by_readers(tmp_path):
    exp = tmp_path / "exp.yaml"
    exp.write_text(json.dumps(GOOD))
    # refused in a second, before a simulator starts or a journal is made
    _one_line(runner.invoke(app, ["run", "--no-live", str(exp), "--history", "notaurl", "--report-dir", str(tmp_path / "r")]), 3, "history store")
    assert not (tmp_path / "r").exists()
    for command in (["history"], ["trend", "x"]):
        _one_line(runner.invoke(app, [*command, "--history", "off"]), 3, "keeps no run history")


@pytest.mark.parametrize(("changes", "words"), [
    ({"cluster": {"overrides": {"serving": {"replicas": 1_000_000_000}}}}, ("replicas", "150000")),
    ({"cluster": {"overrides": {"serving": {"hpa_max": 2**63}}}}, ("hpa_max", "150000")),
    ({"traffic": {"rate": True}}, ("rate", "not true")),
    ({"traffic": {"workers": True}}, ("workers", "not true")),
    ({"injections": [{"via": "fis", "select": {"count": 10**12}}]}, ("select.count", "5000")),
    ({"injections": [{"via": "fis", "select": {"count": True}}]}, ("count", "not true")),
    ({"cluster": {"overrides": {"node_groups": [{"name": "g", "instance_types": ["m5.xlarge"], "desired": 10**9, "max_size": 10**9}]}}},
     ("desired", "5000")),
])
def test_numbers_are_bounded_by_what_eks_allows_and_a_bool_is_not_a_number(tmp_path, changes, words):
    exp = tmp_path / "exp.yaml"
    exp.write_text(json.dumps(GOOD | changes))
    _one_line(runner.invoke(app, ["validate", str(exp)]), 3, *words)


def test_usage_errors_are_input_errors_everywhere(tmp_path):
    """Exit 3 for every input error (2 means aborted); each names the option."""
    _one_line(runner.invoke(app, ["load-shard", "http://127.0.0.1:1/", "--index", "5", "--shards", "2"]), 3, "--index")
    _one_line(runner.invoke(app, ["load-shard", "http://127.0.0.1:1/", "--index", "0", "--body", "@/nonexistent"]), 3, "--body")
    missing = tmp_path / "missing.yaml"
    _one_line(runner.invoke(app, ["gameday", str(missing)]), 3, "missing.yaml")  # the file first, without a terminal
    exp = tmp_path / "exp.yaml"
    exp.write_text(json.dumps(GOOD))
    _one_line(runner.invoke(app, ["gameday", str(exp)]), 3, "needs a terminal")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    _one_line(runner.invoke(app, ["run", "--no-live", str(exp), "--report-dir", str(a_file), "--history", "off"]), 3, "is a file, not a directory")
    _one_line(runner.invoke(app, ["cleanup", "--run-id", ""]), 3, "--run-id")
    for args in (["sim", "up", "--exit-with", "-1"], ["sim", "up", "--exit-with", "0"], ["sim", "up", "--log-format", "xml"],
                 ["run", str(exp), "--log-format", "xml"]):
        proc = subprocess.run([sys.executable, "-m", "chaos.cli", *args, "--state-dir" if args[0] == "sim" else "--no-live", *([str(tmp_path / "s")] if args[0] == "sim" else [])],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert proc.returncode == 3 and "Traceback" not in proc.stderr, (args, proc.stderr)


def test_a_run_directory_is_taken_wherever_a_journal_is(tmp_path):
    path = _written_journal(tmp_path)
    for command in (["report", str(path.parent), "--out", str(tmp_path / "out")], ["watch", str(path.parent)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)


def test_the_runner_names_every_missing_option_at_once():
    result = runner.invoke(app, ["render", "--runner", "--account", "12"])
    _one_line(result, 3, "--region", "--name", "--experiment", "--account")  # --image: the account's ECR by default
