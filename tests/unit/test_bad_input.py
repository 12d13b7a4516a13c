"""Bad input never gives a traceback or a hang: a fixed corpus of the cases that once did (non-UTF-8
files, rich markup in error text, deep nesting, a "billion laughs" alias bomb, duplicate keys,
absurd values, unusable URLs, bodies and paths, usage errors, corrupted journals, a stale pid in a
state directory), each one clear line and exit 3; then the loader fuzzed with arbitrary bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from chaos.cli import app
from chaos.errors import SpecError
from chaos.spec import load_experiment

runner = CliRunner()
GOOD = {"name": "x", "injections": [{"via": "fis"}], "hypotheses": [{"check": "error-rate", "max": 0.01}]}
LAUGHS = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else 'lol'}]\n" for i in range(9))


def _file(tmp_path: Path, content: str | bytes, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _one_clear_line(result, *words: str) -> None:
    text = result.output
    assert result.exit_code == 3, text
    assert "Traceback" not in text and result.exception is None or isinstance(result.exception, SystemExit), text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and len(lines[0]) < 600, text
    for w in words:
        assert w in text, text


def _with(**changes) -> str:
    return yaml.safe_dump({**GOOD, **changes})


@pytest.mark.parametrize(("content", "words"), [
    (b"name: x\x00\xff\xfe\n", ("not UTF-8",)),
    ("\xef\xbb\xbfname: [" * 1 + "]" * 0, ("not valid YAML",)),
    ("x: " + "[" * 5000 + "]" * 5000, ("nests deeper",)),
    (LAUGHS + "name: x\n", ("aliases",)),
    ("name: x\ndescription: 2024-13-45\ninjections: [{via: fis}]\nhypotheses: [{check: error-rate, max: 0.1}]\n", ("impossible date", "quote it")),
    ("name: a\nname: b\ninjections: [{via: fis}]\nhypotheses: [{check: error-rate, max: 0.1}]\n", ("appears twice",)),
    (_with(duration=".inf"), ("duration",)),
    (yaml.safe_dump({**GOOD, "duration": float("inf")}), ("duration",)),
    (_with(traffic={"timeout": 1e30}), ("traffic.timeout",)),
    (_with(target={"speed": 1e-300}), ("target.speed",)),
    (_with(traffic={"body": "png"}), ("traffic", "body")),
    (_with(traffic={"body": "@/dev/zero"}), ("traffic", "not a regular file")),
    (_with(traffic={"url": "not a url"}), ("traffic", "url")),
    (_with(traffic={"url": "http://[::1"}), ("traffic", "url")),
    (_with(cluster={"profile": "platinum"}), ("cluster", "unknown profile")),
    (_with(target={"simulator": {"config": "/nonexistent/sim.yaml"}}), ("target.simulator", "no file")),
    (_with(hypotheses=[{"check": "[bold]x[/bold]", "max": 1}]), ("unknown check",)),
    (_with(name="[/]" * 40), ("name",)),
    (_with(injections=[{"via": "fis", "select": {"count": "x" * 100_000}}]), ("select.count",)),
])
def test_each_bad_file_is_one_clear_line(tmp_path, content, words):
    path = _file(tmp_path, content)
    for command in ("validate", "plan"):
        _one_clear_line(runner.invoke(app, [command, str(path)]), *words)


def test_a_file_that_never_ends_is_refused_before_it_is_read(tmp_path):
    _one_clear_line(runner.invoke(app, ["validate", "/dev/zero"]), "not a regular file")  # looked up before it is opened
    _one_clear_line(runner.invoke(app, ["validate", str(tmp_path)]), "directory")


def test_an_injection_name_with_markup_plans(tmp_path):
    path = _file(tmp_path, _with(injections=[{"via": "fis", "name": "[red]x[/]"}]))
    result = runner.invoke(app, ["plan", str(path)])
    assert result.exit_code == 0 and "[red]x[/]" in result.output, result.output


@pytest.mark.parametrize("args", [
    ["load", "http://[::1"], ["load", "http://127.0.0.1:99999/"], ["load", "ftp://127.0.0.1/"], ["load", "http://127.0.0.1:1/", "--rps", "nan"],
    ["load", "http://127.0.0.1:1/", "--rps", "inf"], ["load", "http://127.0.0.1:1/", "--rps", "1e9"], ["load", "http://127.0.0.1:1/", "--rps", "-5"],
    ["load", "http://127.0.0.1:1/", "--profile", "step", "--steps", "1s:nan"], ["load", "http://127.0.0.1:1/", "--profile", "step", "--steps", "1s:1e12"],
    ["load", "http://127.0.0.1:1/", "--max-connections", "0"], ["load", "http://127.0.0.1:1/", "--max-connections", "-5"],
    ["load", "http://127.0.0.1:1/", "--body", "@/dev/zero"], ["load", "http://127.0.0.1:1/", "--json", "/proc/nowhere/out.json"],
    ["load", "http://127.0.0.1:1/", "--duration", "9999999h"], ["doctor", "--target", "gke"],
    ["render", "--out", "/proc/nowhere"], ["sim", "up", "--state-dir", "/proc/nowhere"],
    # found by tests/unit/test_cli_fuzz.py: names too long to look up, a device read to the end
    ["cleanup", "a" * 5000], ["doctor", "--manifests", "a" * 5000], ["report", "a" * 5000], ["report", "/dev/zero"], ["doctor", "--manifests", "/"],
])
def test_bad_command_lines_are_one_clear_line(args):
    _one_clear_line(runner.invoke(app, args))


def test_binary_settings_files_are_refused_by_name(tmp_path):
    blob = _file(tmp_path, bytes(range(256)) * 4, "blob.yaml")
    _one_clear_line(runner.invoke(app, ["sim", "up", "--config", str(blob), "--state-dir", str(tmp_path / "s")]), "not UTF-8")
    _one_clear_line(runner.invoke(app, ["provision", "--profile", str(blob), "--dry-run"]), "not UTF-8")
    lists = tmp_path / "manifests"
    lists.mkdir()
    (lists / "a.yaml").write_text("- 1\n- 2\n---\nkind: Deployment\nspec: 5\n")
    result = runner.invoke(app, ["doctor", "--manifests", str(lists)])
    assert result.exit_code in (0, 1, 3) and result.exception is None or isinstance(result.exception, SystemExit), result.output


def test_usage_errors_exit_3_like_every_other_input_error(tmp_path):
    """Through the real entry point (click's own code for them is 2, which means 'aborted' for run)."""
    path = _file(tmp_path, _with())
    for args in (["run", str(path), "--speed", "abc"], ["run"], ["nosuch"], ["run", str(tmp_path / "missing.yaml")]):
        proc = subprocess.run([sys.executable, "-m", "chaos.cli", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert proc.returncode == 3 and "Traceback" not in proc.stderr, (args, proc.stderr)


def _journal(tmp_path: Path, lines: list[bytes]) -> Path:
    good = [{"t": 0, "wall": "", "kind": "experiment", "name": "x", "spec": GOOD, "run_id": "x-1"},
            {"t": 1.0, "wall": "", "kind": "traffic", "second": 0, "start_t": 0.0, "end_t": 1.0, "requests": 10}]
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in good) + b"".join(lines))
    return path


@pytest.mark.parametrize("tail", [
    os.urandom(256), b"\xff\xfe{not utf8}\n", b'{"t": 2, "kind": "traffic", "second": 1, "start_t": 1, "end_t": 2, "requests": 5, "hist": "garbage!!"}\n',
    b'{"t": 2, "kind": "traffic", "second": "one", "start_t": [], "end_t": 2, "requests": "many"}\n', b'{"t": "2", "kind": "abort"}\n',
    b'{"t": 2, "kind": "injected", "instance": 7, "reclaim_t": "soon"}\n', b"[1, 2, 3]\n", b'{"t": 2, "kind": "from-the-future", "x": 1}\n',
])
def test_report_on_a_corrupted_journal_reports_or_says_why_in_one_line(tmp_path, tail):
    result = runner.invoke(app, ["report", str(_journal(tmp_path, [tail])), "--out", str(tmp_path / "out")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1, 2, 3) and "Traceback" not in result.output


def test_sim_down_never_signals_a_process_that_got_a_stale_pid(tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state = tmp_path / "state"
        state.mkdir()
        (state / "endpoints.json").write_text(json.dumps({"target": "local", "aws_endpoint_url": "http://127.0.0.1:1", "region": "us-east-1",
                                                          "kubeconfig": "k", "pid": bystander.pid, "extra": {"pid_start_ticks": "1"}}))
        result = runner.invoke(app, ["sim", "down", "--state-dir", str(state)])
        assert "no simulator running" in result.output
        assert bystander.poll() is None  # still alive: not signalled
        legacy = json.loads((state / "endpoints.json").read_text())
        legacy["extra"] = {}  # a file from before start times were recorded: the command line must say `sim up`
        (state / "endpoints.json").write_text(json.dumps(legacy))
        runner.invoke(app, ["sim", "down", "--state-dir", str(state)])
        assert bystander.poll() is None
    finally:
        bystander.kill()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)))
def test_the_loader_takes_any_bytes_without_a_traceback(tmp_path, blob):
    path = _file(tmp_path, blob, "fuzz.yaml")
    try:
        load_experiment(path)
    except SpecError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 600


def test_every_profile_is_named_where_a_profile_is_asked_for() -> None:
    from cluster.profiles import PROFILES

    for command in ("render", "provision", "teardown"):
        shown = " ".join(runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output.split())
        assert all(name in shown for name in PROFILES) and "profile YAML file" in shown, (command, shown)


def test_the_run_help_names_every_exit_code_a_verdict_gives() -> None:
    from chaos.verdict.outcome import EXIT_CODES

    shown = " ".join(runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output.split())
    for outcome, code in EXIT_CODES.items():
        assert f"{code} {outcome.value}" in shown, (outcome, shown)
