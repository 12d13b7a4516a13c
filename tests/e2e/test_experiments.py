"""Whole experiments through the CLI, each on a simulator the run starts itself: the seed
single-node experiment passes and its reports agree with its journal; a known-bad configuration
fails naming the breached hypothesis; Ctrl-C in the middle rolls back (FIS experiment stopped,
simulator gone) and leaves a readable journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from cluster.endpoints import process_alive
from cluster.waiting import wait_for
from tests.support.journals import read_whole_journal as read_journal

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("spot_sim_forks")]  # runs fork their simulators from the session's server


def _experiment(tmp_path: Path, name: str, octet: int, imds_port: int, **changes) -> Path:
    """A shipped experiment on a simulator with its own address range (another may be running)."""
    config = tmp_path / "sim.yaml"
    config.write_text(yaml.safe_dump({"node_address_octet": octet, "imds": {"port": imds_port}}))
    data = yaml.safe_load((ROOT / "experiments" / f"{name}.yaml").read_text())
    data.setdefault("target", {})["simulator"] = {"config": str(config)}
    data.update(changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def fresh_machine_env() -> dict[str, str]:
    """The environment of a machine that has never seen AWS: no credentials, no profile, no region
    (the local simulator must need none of them)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"HOME": os.environ.get("HOME", "/root")}


def _run(path: Path, report_dir: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = fresh_machine_env()
    return subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(path), "--report-dir", str(report_dir), "--no-live"],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def _start(path: Path, out: Path) -> subprocess.Popen[str]:
    env = fresh_machine_env()
    return subprocess.Popen([sys.executable, "-m", "chaos.cli", "run", str(path), "--report-dir", str(out), "--no-live"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _journal_has(journal: Path, *needles: str) -> bool:
    text = journal.read_text() if journal.exists() else ""
    return all(n in text for n in needles)


def _interrupt(path: Path, out: Path, needles: tuple[str, ...], what: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start a run, press Ctrl-C once its journal holds every needle; (process, stdout, stderr)."""
    proc = _start(path, out)
    try:
        wait_for(lambda: _journal_has(out / "journal.jsonl", *needles), 120, what)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc, stdout, stderr


def _last(records, kind):
    return [r for r in records if r["kind"] == kind][-1]


def _pid_gone(pid: int) -> bool:
    return not process_alive(pid)


def test_seed_single_node_experiment_passes_with_reports_matching_the_journal(tmp_path):
    out = tmp_path / "run"
    # beside it, on a simulator of its own, the same experiment with its load on the cluster: four
    # shards (two experiments at once beside other tests: what the cheap data plane makes fit)
    sharded_dir = tmp_path / "sharded"
    sharded_dir.mkdir()
    data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
    data["traffic"] |= {"placement": "cluster", "shards": 4}
    (sharded_dir / "e.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    sharded = _start(sharded_dir / "e.yaml", sharded_dir / "run")
    try:
        proc = _run(_experiment(tmp_path, "single-spot-node-fis", 130, 1343), out)
        sharded_out, sharded_err = sharded.communicate(timeout=240)
    finally:
        if sharded.poll() is None:
            sharded.kill()
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert sharded.returncode == 0, sharded_out + sharded_err[-3000:]
    _same_as_local(read_journal(out / "journal.jsonl"), read_journal(sharded_dir / "run" / "journal.jsonl"))
    records = read_journal(out / "journal.jsonl")
    verdict = _last(records, "verdict")
    assert verdict["status"] == "passed"
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"]["status"] == "passed" and report["complete"]
    # the report's numbers are the journal's
    latest = {}
    for r in records:
        if r["kind"] == "traffic":
            latest[r["second"]] = r
    assert report["traffic"]["requests"] == sum(r["requests"] for r in latest.values()) > 0
    assert {h["name"]: h["value"] for h in report["verdict"]["hypotheses"]} == {h["name"]: h["value"] for h in verdict["hypotheses"]}
    (node,) = report["nodes"]
    injected = _last(records, "injected")
    assert node["instance"] == injected["instance"]
    assert node["notice"] < node["cordon"] < node["drained"] < node["reclaimed"] < node["replacement_ready"]
    assert any(r["kind"] == "fis_action" and r["action_id"] == "aws:ec2:send-spot-instance-interruptions" for r in records)
    # the run measured its own health each real second, the simulator's side read from its published clock
    health = [r for r in records if r["kind"] == "health"]
    # (the clock stands still once the rollback stopped the simulator: a last second may read speed 0)
    # one a real second, through the whole run (about 20 real seconds at speed auto)
    assert len(health) >= 10 and all(h["speed"] >= 0 and h["harness_lag_ms"] >= 0 for h in health), health[:3]
    tail = next(r["t"] for r in records if r["kind"] == "phase" and r["phase"] == "tail")
    assert health[0]["start_t"] < 60 and health[-1]["end_t"] >= tail
    assert sorted(h["speed"] for h in health)[len(health) // 2] > 0
    assert all(h["sim_lag_ms"] is not None and h["sim_cpu_wait"] is not None for h in health), health[:3]
    # the versions the run ran against, read from the cluster, as the run history records them
    components = _last(records, "components")
    assert components["kubernetes"].startswith("v1.") and components["nth"] == "v1.22.0"
    assert components["cluster_autoscaler"].startswith("v1.") and components["lbc"].startswith("v2.")
    suite = ET.parse(out / "junit.xml").getroot()
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) == len(verdict["hypotheses"])
    assert "data:image/png;base64," in (out / "report.html").read_text()
    # rollback stopped the simulator this run started
    assert any(r["kind"] == "rollback" and r["step"] == "stop the simulator" and r["ok"] for r in records)
    assert _pid_gone(_last(records, "connected")["simulator_pid"])
    # the report rebuilds from the journal alone, with the verdict's exit code
    again = subprocess.run([sys.executable, "-m", "chaos.cli", "report", str(out / "journal.jsonl"), "--out", str(tmp_path / "again")],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and json.loads((tmp_path / "again" / "report.json").read_text())["verdict"] == report["verdict"]


def _same_as_local(local: list[dict], sharded: list[dict]) -> None:
    """The load as four shards on the cluster reads as the local load: the same verdict on every
    hypothesis, and per second the same requests within 1% (the one schedule, split four ways),
    no errors; every shard held; its Job deleted by the rollback."""
    verdicts = _last(local, "verdict"), _last(sharded, "verdict")
    statuses = [{h["name"]: h["status"] for h in v["hypotheses"]} for v in verdicts]
    assert statuses[1].pop("load-shards-held") == "pass"
    assert statuses[0] == statuses[1] and verdicts[0]["status"] == verdicts[1]["status"] == "passed"
    per_second = [{r["second"]: r for r in records if r["kind"] == "traffic"} for records in (local, sharded)]
    common = sorted(set(per_second[0]) & set(per_second[1]))[:-1]  # the last second of each run is cut by its stop
    assert len(common) >= 20
    totals = [sum(p[s]["requests"] for s in common) for p in per_second]
    assert abs(totals[1] - totals[0]) <= 0.01 * totals[0], totals
    assert all(p[s]["requests"] == p[s]["ok"] for p in per_second for s in common)
    (shards,) = [r for r in sharded if r["kind"] == "shards"]
    assert shards["shards"] == 4 and not [r for r in sharded if r["kind"] == "shard_lost"]
    assert any(r["kind"] == "rollback" and r["step"].startswith("delete load Job") and r["ok"] for r in sharded)


def test_cordon_only_nth_fails_naming_the_drain(tmp_path):
    out = tmp_path / "run"
    proc = _run(_experiment(tmp_path, "bad-nth-cordon-only", 140, 1344, traffic={"rate": 200, "warmup": "20s", "tail": "10s"}), out)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    assert "drained-before-reclaim" in proc.stdout.splitlines()[0]
    verdict = _last(read_journal(out / "journal.jsonl"), "verdict")
    by = {h["name"]: h["status"] for h in verdict["hypotheses"]}
    assert by == {"cordoned-within": "pass", "drained-before-reclaim": "fail"}


def test_ctrl_c_mid_experiment_rolls_back_and_leaves_a_readable_journal(tmp_path):
    out = tmp_path / "run"
    path = _experiment(tmp_path, "single-spot-node-fis", 150, 1345, traffic={"rate": 100, "warmup": "20s", "tail": "10s"})
    journal = out / "journal.jsonl"
    # interrupt once FIS is running the interruption
    proc, stdout, stderr = _interrupt(path, out, ('"kind":"fis","experiment"', '"state":"running"'), "the FIS experiment to run")
    assert proc.returncode == 2, stdout + stderr[-3000:]
    records = read_journal(journal)
    assert _last(records, "verdict")["status"] == "aborted"
    assert "SIGINT" in _last(records, "abort")["reason"]
    steps = {r["step"]: r["ok"] for r in records if r["kind"] == "rollback"}
    assert any(step.startswith("stop FIS experiment") and ok for step, ok in steps.items()), steps
    assert steps.get("stop the simulator") is True
    assert _pid_gone(_last(records, "connected")["simulator_pid"])
    assert (out / "report.html").exists() and "ABORTED" in stdout


def test_ctrl_c_while_provisioning_rolls_back_and_stops_the_simulator(tmp_path):
    out = tmp_path / "run"
    journal = out / "journal.jsonl"
    proc, stdout, stderr = _interrupt(_experiment(tmp_path, "single-spot-node-fis", 160, 1346), out, ('"phase":"provision"',), "the provision phase")
    assert proc.returncode == 2, stdout + stderr[-3000:]
    records = read_journal(journal)
    assert _last(records, "verdict")["status"] == "aborted"
    assert not any(r["kind"] == "phase" and r["phase"] == "inject" for r in records)
    assert {r["step"]: r["ok"] for r in records if r["kind"] == "rollback"}.get("stop the simulator") is True
    assert _pid_gone(_last(records, "connected")["simulator_pid"])


def test_a_killed_run_leaves_no_simulator_and_its_journal_still_reports(tmp_path):
    """SIGKILL leaves the harness no chance to roll back: the simulator it started notices its
    owner is gone and stops by itself, and the journal written so far still makes a report."""
    out = tmp_path / "run"
    proc = _start(_experiment(tmp_path, "single-spot-node-fis", 170, 1347), out)
    journal = out / "journal.jsonl"
    try:
        wait_for(lambda: _journal_has(journal, '"kind":"connected"'), 120, "the run to start its simulator")
        sim_pid = _last(read_journal(journal), "connected")["simulator_pid"]
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: _pid_gone(sim_pid), 30, f"simulator pid {sim_pid} to exit after its run was killed")
    again = subprocess.run([sys.executable, "-m", "chaos.cli", "report", str(journal), "--out", str(tmp_path / "report")],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2, again.stdout + again.stderr  # no verdict recorded: reported as aborted
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert not report["complete"] and report["verdict"]["status"] == "aborted"


def test_an_error_rate_stop_condition_aborts_the_run_and_rolls_back(tmp_path):
    """The seed profile keeps a reclaimed node behind the ALB for 300 s: requests to it fail, the
    error rate over 5 s passes 0.2 % and the run aborts itself before its hypotheses are decided."""
    out = tmp_path / "run"
    path = _experiment(tmp_path, "bad-seed-dereg-300s", 180, 1348, traffic={"rate": 200, "body": "image", "warmup": "20s", "tail": "60s"},
                       stop_conditions=[{"error_rate": 0.002, "window": "5s"}])
    data = yaml.safe_load(path.read_text())
    data.pop("expect")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = _run(path, out)
    assert proc.returncode == 2, proc.stdout + proc.stderr[-3000:]
    records = read_journal(out / "journal.jsonl")
    assert _last(records, "verdict")["status"] == "aborted"
    reason = _last(records, "abort")["reason"]
    assert reason.startswith("stop condition: error rate") and "over the last 5s" in reason, reason
    injected = _last(records, "injected")
    abort_t = _last(records, "abort")["t"]
    assert abort_t > injected["t"]  # the breach came from the interruption, not the warm-up
    steps = {r["step"]: r["ok"] for r in records if r["kind"] == "rollback"}
    assert steps.get("stop traffic") is True and steps.get("stop the simulator") is True, steps


def test_a_cloudwatch_alarm_stops_fis_and_the_run_aborts(tmp_path):
    """The FIS stop condition: the experiment names a CloudWatch alarm; when the alarm goes into
    ALARM mid-run, FIS stops its experiment and the run aborts naming it, then tears down what it
    provisioned.  The run uses a simulator the test started, so the test can create the alarm and
    set its state through CloudWatch as an operator (or a metric) would."""
    from tests.conftest import start_sim

    sim = start_sim(tmp_path / "sim", speed="auto", node_address_octet=190, imds={"port": 1349})
    try:
        cw = sim.aws("cloudwatch")
        cw.put_metric_alarm(AlarmName="serving-5xx", MetricName="HTTPCode_ELB_5XX_Count", Namespace="AWS/ApplicationELB", Statistic="Sum",
                            Period=60, EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold")
        alarm = cw.describe_alarms(AlarmNames=["serving-5xx"])["MetricAlarms"][0]["AlarmArn"]
        data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
        data["target"] = {"simulator": {"state_dir": str(sim.state_dir)}}
        data["traffic"].update({"rate": 100, "warmup": "20s", "tail": "10s"})
        data["stop_conditions"] = [{"cloudwatch_alarm": alarm}]
        path = tmp_path / "alarm.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        out = tmp_path / "run"
        proc = _start(path, out)
        journal = out / "journal.jsonl"
        try:
            wait_for(lambda: _journal_has(journal, '"kind":"fis","experiment"', '"state":"running"'), 150, "the FIS experiment to run")
            cw.set_alarm_state(AlarmName="serving-5xx", StateValue="ALARM", StateReason="5xx over the SLO")
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 2, stdout + stderr[-3000:]
        records = read_journal(journal)
        reason = _last(records, "abort")["reason"]
        assert reason.startswith("FIS experiment") and "stopped" in reason, reason
        (eid,) = {r["experiment"] for r in records if r["kind"] == "fis"}
        assert sim.aws("fis").get_experiment(id=eid)["experiment"]["state"]["status"] == "stopped"
        steps = {r["step"]: r["ok"] for r in records if r["kind"] == "rollback"}
        assert any(step.startswith("tear down") and ok for step, ok in steps.items()), steps
        assert sim.proc.poll() is None  # a simulator the run did not start is left running
    finally:
        sim.stop()
