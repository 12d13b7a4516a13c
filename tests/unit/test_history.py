"""The run history (a real SQLite database through SQLAlchemy): run directories import from their
journals, the table lists them newest first, importing again replaces rather than duplicates,
writers finishing together all land, and a store that cannot be opened is one line that never
shows the URL's password."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from typer.testing import CliRunner

from chaos.cli import app
from chaos.history.rows import run_rows
from chaos.history.store import HYPOTHESES, hypotheses_of, open_store, record, runs
from chaos.journal import read_journal
from chaos.report.data import build
from tests.unit.test_loss_checks import lost_journal
from tests.unit.test_verdicts import good_journal

runner = CliRunner()


def _run_dir(root: Path, name: str, records: list[dict], run_id: str, wall: str) -> Path:
    d = root / name
    d.mkdir()
    records = [dict(r) for r in records]
    records[0] |= {"run_id": run_id, "wall": wall}
    (d / "journal.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return d


def test_import_lists_and_reimport_replaces(tmp_path, store_url):
    url = store_url
    good = _run_dir(tmp_path, "good", good_journal(), "unit-1", "2026-11-01T10:00:00Z")
    lost = _run_dir(tmp_path, "lost", lost_journal(unhealthy_at=150.0), "loss-1", "2026-11-02T10:00:00Z")
    result = runner.invoke(app, ["history", "import", str(good), str(lost), str(tmp_path / "missing"), "--history", url])
    assert result.exit_code == 3 and "imported unit" in result.output and "imported loss" in result.output and "skipped" in result.output, result.output
    runner.invoke(app, ["history", "import", str(good), "--history", url])  # again: replaced, not doubled
    engine = open_store(url)
    listed = runs(engine)
    assert [r["run_id"] for r in listed] == ["loss-1", "unit-1"]
    assert [r["run_id"] for r in runs(engine, "unit")] == ["unit-1"] and runs(engine, since="2026-11-02") == listed[:1]
    checks = {h["check"]: h for h in hypotheses_of(engine, "loss-1")}
    assert checks["targets-unhealthy-within"]["status"] == "pass" and checks["targets-unhealthy-within"]["value"] == 28.0
    table = runner.invoke(app, ["history", "--history", url])
    # newest first (by start time: the run-directory column folds long paths at any character)
    assert table.exit_code == 0 and table.output.index("2026-11-02 10:00") < table.output.index("2026-11-01 10:00"), table.output
    assert "no runs recorded for nothing" in runner.invoke(app, ["history", "nothing", "--history", url]).output


def test_writers_finishing_together_all_land(tmp_path, store_url):
    url = store_url
    journal = _run_dir(tmp_path, "good", good_journal(), "unit-1", "2026-11-01T10:00:00Z") / "journal.jsonl"
    rows = run_rows(build(read_journal(journal)), str(journal.parent))
    open_store(url)

    def write(n: int) -> None:
        engine = open_store(url)  # each writer its own connection pool, as two runs would have
        for i in range(15):
            record(engine, type(rows)({**rows.run, "run_id": f"w{n}-{i}"}, [{**h, "run_id": f"w{n}-{i}"} for h in rows.hypotheses]))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine = open_store(url)
    assert len(runs(engine, limit=1000)) == 60
    with engine.connect() as conn:
        assert len(list(conn.execute(HYPOTHESES.select()))) == 60 * len(rows.hypotheses)


def test_a_store_that_cannot_open_is_one_line_without_the_password(tmp_path):
    result = runner.invoke(app, ["history", "--history", "postgresql://chaos:s3cret@127.0.0.1:1/runs"])
    assert result.exit_code == 3 and "s3cret" not in result.output and "127.0.0.1" in result.output, result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    assert runner.invoke(app, ["history", "--history", "not a url"]).exit_code == 3


def test_runs_on_another_cluster_are_not_each_others_baseline(tmp_path, store_url):
    """The same experiment on staging and on another cluster: each compared with its own runs only."""
    from chaos.history.store import baseline_ids, record

    rows = run_rows(build(read_journal(_run_dir(tmp_path, "good", good_journal(), "unit-1", "2026-11-01T10:00:00Z") / "journal.jsonl")), "d")
    engine = open_store(store_url)
    for i, cluster in enumerate(["staging", "staging", "other", "staging"]):
        record(engine, type(rows)({**rows.run, "run_id": f"r{i}", "started": f"2026-11-0{i + 1}T00:00:00Z", "verdict": "passed",
                                   "target": "eks", "account": "123456789012", "cluster": cluster}, []))
    latest = {**rows.run, "run_id": "now", "started": "2026-11-09T00:00:00Z", "target": "eks", "account": "123456789012", "cluster": "staging"}
    assert baseline_ids(engine, latest, 10) == ["r3", "r1", "r0"]
    legacy = {**latest, "account": None, "cluster": None}  # runs recorded before the store knew where: their own baseline
    assert baseline_ids(engine, legacy, 10) == []
