"""The Chaos Toolkit extension as a Chaos Toolkit user runs it: the real `chaos run` (chaostoolkit's
CLI) on docs/chaostoolkit/spot-interruption.json and spot-interruption-inject.json, against a
simulator the spotchaos run starts.  Its journal holds spotchaos's verdict and the probes' readings
of that very run; an injection put in place is rolled back, also when its run is stopped or killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chaos.chaostoolkit.actions import inject, rollback_injection
from chaos.chaostoolkit.probes import (
    ProbeInputError,
    cluster_spot_ready,
    fault_in_place,
    hypothesis_held,
    verdict,
)
from chaos.journal import of, read_journal
from chaos.journal.records import InjectedRecord
from chaos.report.write import write_reports
from chaos.undo.log import pending
from tests.conftest import start_sim
from tests.unit.test_verdicts import good_journal

pytestmark = pytest.mark.usefixtures("spot_sim_forks")  # runs fork their simulators from the session's server

ROOT = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"


def chaos_run(experiment: str, tmp_path: Path) -> dict:
    """`chaos run EXPERIMENT` with its runs in tmp_path/runs; Chaos Toolkit's journal."""
    journal = tmp_path / "journal.json"
    env = {**os.environ, "SPOTCHAOS_RUNS_DIR": str(tmp_path / "runs"), "SPOTCHAOS_HISTORY": "off"}
    done = subprocess.run([str(CHAOS), "--log-file", str(tmp_path / "chaostoolkit.log"), "run", experiment, "--journal-path", str(journal)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(journal.read_text())


def test_chaos_run_of_the_documented_experiment_completes_with_spotchaoss_verdict_in_its_journal(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    ran = chaos_run("docs/chaostoolkit/spot-interruption.json", tmp_path)
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


def test_chaos_run_of_the_inject_experiment_probes_while_the_fault_is_in_place_and_its_rollback_ends_it(tmp_path: Path) -> None:
    ran = chaos_run("docs/chaostoolkit/spot-interruption-inject.json", tmp_path)
    assert ran["status"] == "completed" and ran["deviated"] is False
    injected, in_place = (r["output"] for r in ran["run"])
    (rolled_back,) = ran["rollbacks"]
    (run_dir,) = (tmp_path / "runs").iterdir()
    records = read_journal(run_dir / "journal.jsonl")
    assert injected["report_dir"] == rolled_back["output"]["report_dir"] == str(run_dir.resolve())
    assert injected["injection"] == "one-spot-node" and [i["node"] for i in injected["injected"]] == [r.node for r in of(records, InjectedRecord)]
    assert in_place is True  # read by the method's probe, between the action and the rollback
    assert rolled_back["status"] == "succeeded" and rolled_back["output"]["verdict"] == "passed"
    assert rolled_back["output"]["left"] == [] and rolled_back["output"]["cleaned_up"] == [] and not pending(records)
    assert records[-1].kind == "verdict" and fault_in_place(str(run_dir)) is False


def test_an_injection_stopped_or_killed_is_rolled_back(tmp_path: Path) -> None:
    """On a simulator that outlives the runs (a cluster of the user's: one the run did not start),
    so that what a killed run left is still there to undo, as on EKS."""
    sim = start_sim(tmp_path / "sim", speed="auto", imds={"port": 1356})
    try:
        data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
        data["target"] = {"simulator": {"state_dir": str(sim.state_dir)}}
        experiment = tmp_path / "on-the-cluster.yaml"
        experiment.write_text(yaml.safe_dump(data, sort_keys=False))
        runs = str(tmp_path / "runs")
        stopped = inject(str(experiment), runs_dir=runs)
        assert fault_in_place(stopped) is True
        ended = rollback_injection(stopped, interrupt=True)  # Ctrl-C to the run: it rolls back itself
        assert (ended["verdict"], ended["interrupted"], ended["cleaned_up"], ended["left"]) == ("aborted", True, [], [])
        assert verdict(stopped) == "aborted" and fault_in_place(stopped) is False

        killed = inject(str(experiment), injection="injection-1", runs_dir=runs)
        os.kill(killed["pid"], signal.SIGKILL)  # no rollback of its own: the FIS experiment, its template and role stay in place
        fis = sim.aws("fis")
        ended = rollback_injection(runs)  # the newest run: the killed one
        assert ended["report_dir"] == killed["report_dir"] and ended["verdict"] == "aborted" and not ended["interrupted"]
        steps = [c["step"].split(" ")[:3] for c in ended["cleaned_up"] if c["ok"]]
        assert ["stop", "FIS", "experiment"] in steps and ["delete", "FIS", "template"] in steps and ended["left"] == [], ended
        assert not [e for e in fis.list_experiments()["experiments"] if e["state"]["status"] in ("initiating", "running")]
        assert not fis.list_experiment_templates()["experimentTemplates"]  # each run's template deleted: by its rollback, or by the cleanup
        assert not pending(read_journal(Path(killed["report_dir"]) / "journal.jsonl")) and fault_in_place(killed) is False
    finally:
        sim.stop()


def test_inject_says_what_it_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="give one of one-spot-node"):
        inject("experiments/single-spot-node-fis.yaml", injection="nope", runs_dir=str(tmp_path))
    with pytest.raises(ProbeInputError, match="no journal.jsonl; give the runs_dir"):
        rollback_injection(str(tmp_path / "nothing"))


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
