"""The Chaos Toolkit extension as a Chaos Toolkit user runs it: the real `chaos run` (chaostoolkit's
CLI) on docs/chaostoolkit/spot-interruption.json, against a simulator the spotchaos action starts.
Its journal holds spotchaos's verdict and the probes' readings of that very run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.chaostoolkit.probes import ProbeInputError, cluster_spot_ready, hypothesis_held, verdict
from chaos.journal import read_journal
from chaos.report.write import write_reports
from tests.unit.test_verdicts import good_journal

ROOT = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"


def test_chaos_run_of_the_documented_experiment_completes_with_spotchaoss_verdict_in_its_journal(tmp_path: Path) -> None:
    runs, journal = tmp_path / "runs", tmp_path / "journal.json"
    env = {**os.environ, "SPOTCHAOS_RUNS_DIR": str(runs), "SPOTCHAOS_HISTORY": "off"}
    done = subprocess.run([str(CHAOS), "--log-file", str(tmp_path / "chaostoolkit.log"), "run", "docs/chaostoolkit/spot-interruption.json",
                           "--journal-path", str(journal)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran = json.loads(journal.read_text())
    assert ran["status"] == "completed" and ran["deviated"] is False
    by_name = {r["activity"]["name"]: r for r in ran["run"]}
    action = by_name["interrupt-one-spot-node"]["output"]
    assert action["experiment"] == "single-spot-node-fis" and action["verdict"] == "passed" and action["as_expected"] is True
    (run_dir,) = runs.iterdir()
    assert action["report_dir"] == str(run_dir.resolve())
    records = read_journal(run_dir / "journal.jsonl")
    assert records[-1].kind == "verdict" and records[-1].status == action["verdict"]  # the verdict the run journaled
    measured = {h["name"]: h["status"] for h in action["hypotheses"]}
    assert measured["drained-before-reclaim"] == "pass" and len(measured) == 9
    assert by_name["verdict"]["output"] == "passed"
    assert [by_name[n]["output"] for n in ("drained-before-reclaim", "targets-deregistered-before-reclaim", "error-rate")] == [True, True, True]
    assert [p["output"] for p in ran["steady_states"]["before"]["probes"]] == [True]


def test_the_probes_read_a_runs_report_and_say_what_they_cannot_read(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "one"
    run.mkdir(parents=True)
    (run / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in good_journal()))
    write_reports(run / "journal.jsonl")
    assert verdict(str(run)) == verdict(str(tmp_path / "runs")) == "aborted"  # a journal without its verdict, judged on what it recorded
    assert hypothesis_held(str(tmp_path / "runs"), "cordoned-within") is True
    with pytest.raises(ProbeInputError, match="no hypothesis 'nope'"):
        hypothesis_held(str(run), "nope")
    with pytest.raises(ProbeInputError, match="no report.json"):
        verdict(str(tmp_path / "empty"))
    assert cluster_spot_ready(profile="hardened") is True and cluster_spot_ready(profile="seed") is False  # the seed is not Spot-ready
    with pytest.raises(ProbeInputError, match="give a profile"):
        cluster_spot_ready()
