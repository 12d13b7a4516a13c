"""Every listing command's `-o json` and `-o yaml` (kubectl's convention): one document that
parses and matches its schema in docs/schemas/, the same in both formats, exit codes unchanged;
and `history`'s table at 80 columns shows every experiment name whole (the run directory is in
`-o wide`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from chaos.cli import app
from tests.unit.test_history import _run_dir
from tests.unit.test_verdicts import good_journal

runner = CliRunner()
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
LONG_NAME = "single-spot-node-fis-three-zones"  # the table of the issue broke such a name mid-word


def _documents(args: list[str], schema: str, exit_code: int = 0) -> dict[str, Any]:
    as_json = runner.invoke(app, [*args, "-o", "json"], env={"COLUMNS": "80"})
    as_yaml = runner.invoke(app, [*args, "-o", "yaml"], env={"COLUMNS": "80"})
    assert (as_json.exit_code, as_yaml.exit_code) == (exit_code, exit_code), (as_json.output, as_yaml.output)
    doc = json.loads(as_json.stdout)
    assert yaml.safe_load(as_yaml.stdout) == doc
    jsonschema.validate(doc, json.loads((SCHEMAS / f"{schema}.schema.json").read_text()))
    return doc


@pytest.fixture
def recorded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    records = good_journal()
    records[0] = {**records[0], "name": LONG_NAME, "spec": {**records[0]["spec"], "name": LONG_NAME}}
    run = _run_dir(tmp_path, "a-run-directory-whose-path-is-long-enough-to-wrap-any-eighty-column-table", records, "long-1", "2026-11-01T10:00:00Z")
    assert runner.invoke(app, ["history", "import", str(run), "--history", url]).exit_code == 0
    return url


def test_history_and_trend_print_their_documents(recorded: str) -> None:
    runs = _documents(["history", "--history", recorded], "run-list")
    assert runs["kind"] == "RunList" and [r["experiment"] for r in runs["items"]] == [LONG_NAME] and runs["items"][0]["run_id"] == "long-1"
    trend = _documents(["trend", LONG_NAME, "--history", recorded], "trend")
    assert trend["experiment"] == LONG_NAME and trend["hypotheses"] and all(h["points"] for h in trend["hypotheses"])
    assert _documents(["history", "nothing-recorded", "--history", recorded], "run-list")["items"] == []


def test_history_reads_at_80_columns_and_wide_has_the_run_directory(recorded: str) -> None:
    table = runner.invoke(app, ["history", "--history", recorded], env={"COLUMNS": "80"})
    assert table.exit_code == 0 and LONG_NAME in table.output, table.output
    assert all(len(line) <= 80 for line in table.output.splitlines()), table.output
    wide = runner.invoke(app, ["history", "--history", recorded, "-o", "wide"], env={"COLUMNS": "400"})
    assert "a-run-directory-whose-path-is-long-enough-to-wrap-any-eighty-column-table" in wide.output and LONG_NAME in wide.output


def test_doctor_prints_its_document_and_keeps_its_exit_code(tmp_path: Path) -> None:
    doc = _documents(["doctor", "--profile", "seed"], "doctor-report", exit_code=1)  # the seed cluster is not Spot-ready: errors
    assert doc["errors"] >= 1 and doc["errors"] == sum(f["level"] == "error" for f in doc["findings"])
    legacy = runner.invoke(app, ["doctor", "--profile", "hardened", "--json"])
    jsonschema.validate(json.loads(legacy.stdout), json.loads((SCHEMAS / "doctor-report.schema.json").read_text()))


def test_an_unknown_format_names_the_choices() -> None:
    result = runner.invoke(app, ["history", "-o", "xml"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "'--output': 'xml': use one of table, wide, json, yaml" in result.output, result.output


EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def test_validate_and_plan_print_their_documents(tmp_path: Path) -> None:
    good = EXPERIMENTS / "single-spot-node-fis.yaml"
    checked = _documents(["validate", str(good)], "validation")
    assert checked["valid"] is True and checked["name"] == "single-spot-node-fis" and checked["hypotheses"] == 9
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("max: 10s", "max: ten seconds", 1))
    refused = _documents(["validate", str(bad)], "validation", exit_code=3)
    assert refused["valid"] is False and "hypotheses" in refused["error"] and "\n" not in refused["error"]
    plan = _documents(["plan", str(good)], "plan")
    assert plan["experiment"] == "single-spot-node-fis" and plan["steps"][0] == "experiment single-spot-node-fis"
    assert plan["spec"]["target"]["speed"] == "auto" and plan["spec"]["traffic"]["rate"] == 400


def test_report_prints_the_json_report_and_keeps_the_verdicts_exit_code(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, "run", good_journal(), "report-1", "2026-11-01T10:00:00Z")
    plain = runner.invoke(app, ["report", str(run)])
    doc = _documents(["report", str(run)], "report", exit_code=plain.exit_code)
    assert doc["files"]["json"] == str(run / "report.json") and doc["verdict"]["hypotheses"]
    assert {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "files")} == json.loads((run / "report.json").read_text())


def test_cleanup_prints_what_each_run_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPOTCHAOS_RUNS_DIR", str(tmp_path / "live-runs"))  # this machine's registry of runs, empty: no stale run
    run = _run_dir(tmp_path, "finished", good_journal(), "cleanup-1", "2026-11-01T10:00:00Z")
    done = _documents(["cleanup", str(run)], "cleanup-report")
    assert done["ok"] is True and [r["run_id"] for r in done["runs"]] == ["cleanup-1"] and done["runs"][0]["undone"] == []
    assert _documents(["cleanup", "--all-stale"], "cleanup-report") == {"apiVersion": "spotchaos.dev/v1", "kind": "CleanupReport", "ok": True,
                                                                       "runs": [], "stale": []}
