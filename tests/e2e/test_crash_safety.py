"""Crash safety on an account that outlives the harness.  `spotchaos run` killed with SIGKILL (no rollback at all) at points across its
phases, then `spotchaos cleanup`, leaves nothing of the run on the cluster: no FIS experiment
running, no template or IAM role carrying its run id, no metadata notice it gave, no cluster it
provisioned; and its journal still reports.  The same with `--run-id` after the run directory is
deleted.  The FIS safety lever: engaged, it refuses a run before anything is touched; engaged
mid-run, it stops the experiment and the run aborts naming it.  The runs use a simulator the test
started (one the run started would take everything with it when it exits)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from chaos.identity import RUN_ID_TAG
from cluster.waiting import wait_for
from tests.conftest import SimProcess, start_sim
from tests.e2e.run_marks import marked_by_run
from tests.e2e.test_experiments import ROOT, _journal_has, _start, fresh_machine_env
from tests.support.journals import read_whole_journal as read_journal

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("spot_sim_forks")]  # runs fork their simulators from the session's server


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    handle = start_sim(tmp_path_factory.mktemp("crash-sim"), speed="auto", imds={"port": 1352})
    yield handle
    handle.stop()


def _experiment(tmp_path: Path, sim: SimProcess, via: str) -> Path:
    data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
    data["target"] = {"simulator": {"state_dir": str(sim.state_dir)}}
    data["traffic"].update({"rate": 50, "warmup": "20s", "tail": "10s"})  # a full warm-up: the steady state must hold on a busy runner
    data["injections"][0]["via"] = via
    path = tmp_path / f"{via}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _kill_at(path: Path, out: Path, needles: tuple[str, ...], also: Callable[[], bool] = lambda: True) -> str:
    """Start the run, SIGKILL it once its journal holds every needle (and `also` holds); the run id."""
    proc = _start(path, out)
    journal = out / "journal.jsonl"
    try:
        wait_for(lambda: (_journal_has(journal, *needles) and also()) or proc.poll() is not None, 180, f"the journal to hold {needles}")
        assert proc.poll() is None, "the run ended before the kill point"
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return str(read_journal(journal)[0]["run_id"])


def _cli(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaos.cli", *args], capture_output=True, text=True, timeout=timeout, env=fresh_machine_env(), cwd=ROOT)


def _left_of(sim: SimProcess, run_id: str) -> dict[str, list[str]]:
    """What on the simulator still carries the run's id, through the real APIs."""
    fis, iam = sim.aws("fis"), sim.aws("iam")
    running = [e["id"] for e in fis.list_experiments()["experiments"]
               if (e.get("tags") or {}).get(RUN_ID_TAG) == run_id and e["state"]["status"] not in ("completed", "stopped", "failed", "cancelled")]
    templates = [t["id"] for t in fis.list_experiment_templates()["experimentTemplates"] if (t.get("tags") or {}).get(RUN_ID_TAG) == run_id]
    roles = [r["RoleName"] for r in iam.list_roles(PathPrefix="/spotchaos/")["Roles"]
             if {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=r["RoleName"])["Tags"]}.get(RUN_ID_TAG) == run_id]
    import json
    import urllib.request

    with urllib.request.urlopen(sim.endpoints.extra["control_url"].rstrip("/") + "/v1/instances", timeout=10) as resp:
        notices = [i["instance_id"] for i in json.load(resp)["instances"] if i.get("notice_owner") == run_id and i.get("notice") and i.get("alive")]
    return {"running experiments": running, "templates": templates, "roles": roles, "notices": notices}


def _cluster_instances(sim: SimProcess) -> list[str]:
    """Live instances (the simulator holds no other cluster than the runs')."""
    reservations = sim.aws("ec2").describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    return [i["InstanceId"] for r in reservations for i in r["Instances"]]


def test_sigkill_mid_fis_then_cleanup_leaves_nothing(sim, tmp_path):
    out = tmp_path / "run"
    run_id = _kill_at(_experiment(tmp_path, sim, "fis"), out, ('"kind":"intent_done"', '"experiment_id"'))
    left = _left_of(sim, run_id)
    assert left["running experiments"] or left["templates"], left  # the kill really left the fault in place
    cleaned = _cli("cleanup", str(out))
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert "stop FIS experiment" in cleaned.stdout and "tear down" in cleaned.stdout
    assert _left_of(sim, run_id) == {"running experiments": [], "templates": [], "roles": [], "notices": []}
    assert _cluster_instances(sim) == []
    assert not any(marked_by_run(sim, run_id).values()), marked_by_run(sim, run_id)
    records = read_journal(out / "journal.jsonl")
    assert [r for r in records if r["kind"] == "undone" and r["by"] == "cleanup" and r["ok"]]
    report = _cli("report", str(out / "journal.jsonl"), "--out", str(tmp_path / "report"), timeout=60)
    assert report.returncode == 2 and "Traceback" not in report.stderr  # killed: aborted, incomplete
    again = _cli("cleanup", str(out))
    assert again.returncode == 0 and "nothing left to undo" in again.stdout


def test_sigkill_with_a_metadata_notice_then_cleanup_by_run_id_after_the_directory_is_gone(sim, tmp_path):
    out = tmp_path / "run"
    run_id = _kill_at(_experiment(tmp_path, sim, "metadata"), out, ('"kind":"injected"',))
    assert _left_of(sim, run_id)["notices"], "the kill left the notice on the metadata"
    marked = marked_by_run(sim, run_id)
    # every resource the run's provisioning created carries its id (the run's own FIS role and template aside)
    assert all(marked.values()), {k: v for k, v in marked.items() if not v}
    shutil.rmtree(out)
    cleaned = _cli("cleanup", "--run-id", run_id, "--state-dir", str(sim.state_dir))
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert _left_of(sim, run_id) == {"running experiments": [], "templates": [], "roles": [], "notices": []}
    # without its journal the provisioned cluster is found by the run id on its node groups, and torn down
    assert "tear down" in cleaned.stdout, cleaned.stdout
    assert _cluster_instances(sim) == []
    assert not any(marked_by_run(sim, run_id).values()), marked_by_run(sim, run_id)


def test_sigkill_while_provisioning_then_cleanup_tears_the_cluster_down(sim, tmp_path):
    out = tmp_path / "run"
    # killed once the provisioning has launched instances, before it is done: a half-made cluster
    _kill_at(_experiment(tmp_path, sim, "fis"), out, ('"phase":"provision"',), also=lambda: _cluster_instances(sim) != [])
    assert not _journal_has(out / "journal.jsonl", '"kind":"provisioned"')
    cleaned = _cli("cleanup", str(out))
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert "tear down" in cleaned.stdout
    assert _cluster_instances(sim) == []


def _set_lever(sim: SimProcess, status: str) -> None:
    fis = sim.aws("fis")
    if status == "disengaged":
        wait_for(lambda: fis.get_safety_lever(id="default")["safetyLever"]["state"]["status"] != "engaging", 20, "the lever to settle")
    fis.update_safety_lever_state(id="default", state={"status": status, "reason": f"test: {status}"})


def _run_with_the_lever_engaged(sim: SimProcess, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A run the engaged lever refuses right after it connected."""
    _set_lever(sim, "engaged")
    try:
        return subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(_experiment(tmp_path, sim, "fis")), "--report-dir", str(tmp_path / "run"),
                               "--no-live"], capture_output=True, text=True, timeout=120, env=fresh_machine_env(), cwd=ROOT)
    finally:
        _set_lever(sim, "disengaged")


def test_an_engaged_safety_lever_refuses_the_run_before_anything_is_touched(sim, tmp_path):
    proc = _run_with_the_lever_engaged(sim, tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "safety lever is engaged" in proc.stdout and "Traceback" not in proc.stderr
    records = read_journal(tmp_path / "run" / "journal.jsonl")
    assert not any(r["kind"] in ("intent", "provisioned") for r in records)
    assert _cluster_instances(sim) == []


def test_a_run_warns_of_stale_runs_on_its_own_cluster_only(sim, tmp_path):
    """Stale runs registered by dead owners: one on this simulator, one elsewhere. The run names
    the first (with the command that undoes it), in its output and its journal, not the second.
    The engaged lever stops the run right after it connected, before anything is touched."""
    from chaos import live_runs as run_registry
    from chaos.identity import Owner

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    owner = Owner(int(dead.stdout), __import__("socket").gethostname(), 1)
    here = run_registry.cluster_key("local", sim.endpoints.aws_endpoint_url, None)
    for d in ("old", "other"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "journal.jsonl").write_text("")
    run_registry.register(run_registry.RunEntry("same-cluster-run", str(tmp_path / "old"), owner, here))
    run_registry.register(run_registry.RunEntry("other-cluster-run", str(tmp_path / "other"), owner, "local|http://127.0.0.1:1|"))
    try:
        proc = _run_with_the_lever_engaged(sim, tmp_path)
    finally:
        run_registry.unregister("same-cluster-run")
        run_registry.unregister("other-cluster-run")
    assert "same-cluster-run" in proc.stderr and f"spotchaos cleanup {tmp_path / 'old'}" in proc.stderr, proc.stderr
    assert "other-cluster-run" not in proc.stderr + proc.stdout
    (record,) = [r for r in read_journal(tmp_path / "run" / "journal.jsonl") if r["kind"] == "stale_run"]
    assert record["run_id"] == "same-cluster-run"


@pytest.fixture
def fresh_sim(tmp_path_factory: pytest.TempPathFactory):
    """A simulator no earlier kill has touched: this run must reach its injection, so its steady
    state may not depend on what the kills and cleanups before it left on the shared one."""
    handle = start_sim(tmp_path_factory.mktemp("lever-sim"), speed="auto", imds={"port": 1354})
    yield handle
    handle.stop()


def test_engaging_the_safety_lever_mid_run_aborts_it_naming_the_lever(fresh_sim, tmp_path):
    sim = fresh_sim
    out = tmp_path / "run"
    proc = _start(_experiment(tmp_path, sim, "fis"), out)
    try:
        wait_for(lambda: _journal_has(out / "journal.jsonl", '"kind":"fis","experiment"', '"state":"running"') or proc.poll() is not None,
                 150, "the FIS experiment to run")
        assert proc.poll() is None, f"the run ended before its FIS experiment ran: {(out / 'journal.jsonl').read_text()[-1500:]}"
        _set_lever(sim, "engaged")
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        _set_lever(sim, "disengaged")
    assert proc.returncode == 2, stdout + stderr[-3000:]
    records = read_journal(out / "journal.jsonl")
    abort = [r for r in records if r["kind"] == "abort"][0]["reason"]
    assert "safety lever" in abort, abort
    (eid,) = {r["experiment"] for r in records if r["kind"] == "fis"}
    assert sim.aws("fis").get_experiment(id=eid)["experiment"]["state"]["status"] == "stopped"
    assert [r for r in records if r["kind"] == "rollback" and r["step"].startswith("tear down") and r["ok"]]
    assert _cluster_instances(sim) == []


def _interrupt_at(path: Path, out: Path, needles: tuple[str, ...], times: int) -> tuple[int, str]:
    """Start the run; once its journal holds every needle, Ctrl-C it `times` times (each after the
    run journaled the one before, when it answers one); (exit code, stderr)."""
    import signal

    proc = _start(path, out)
    journal = out / "journal.jsonl"
    try:
        wait_for(lambda: _journal_has(journal, *needles) or proc.poll() is not None, 240, f"the journal to hold {needles}")
        assert proc.poll() is None, "the run ended before the interruption point"
        for n in range(times):
            proc.send_signal(signal.SIGINT)
            if n + 1 < times:
                wait_for(lambda: _journal_has(journal, "SIGINT during the rollback") or proc.poll() is not None, 30, "the run to answer the Ctrl-C")
        _, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stderr


def test_ctrl_c_at_stop_traffic_rolls_back_whole_and_exits_aborted(sim, tmp_path):
    out = tmp_path / "run"
    code, stderr = _interrupt_at(_experiment(tmp_path, sim, "fis"), out, ('"phase":"stop-traffic"',), times=1)
    assert code == 2 and "Traceback" not in stderr, stderr
    records = read_journal(out / "journal.jsonl")
    assert records[-1]["kind"] == "verdict" and records[-1]["status"] == "aborted", records[-1]
    run_id = str(records[0]["run_id"])
    assert _left_of(sim, run_id) == {"running experiments": [], "templates": [], "roles": [], "notices": []}
    assert _cluster_instances(sim) == []


def test_ctrl_c_twice_during_the_rollback_leaves_the_rest_to_cleanup(sim, tmp_path):
    out = tmp_path / "run"
    code, stderr = _interrupt_at(_experiment(tmp_path, sim, "fis"), out, ('"phase":"rollback"',), times=2)
    assert code == 2 and "Traceback" not in stderr, stderr
    assert "rolling back; Ctrl-C again to leave the rest to `spotchaos cleanup`" in stderr, stderr
    assert f"undo them with: spotchaos cleanup {out}" in stderr, stderr
    records = read_journal(out / "journal.jsonl")
    assert records[-1]["kind"] == "verdict" and records[-1]["status"] == "aborted", records[-1]
    left = [r for r in records if r["kind"] == "undone" and not r["ok"] and "left to `spotchaos cleanup`" in r["detail"]]
    assert left, "the interrupted rollback journaled what it left"
    cleaned = _cli("cleanup", str(out))
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    run_id = str(records[0]["run_id"])
    assert _left_of(sim, run_id) == {"running experiments": [], "templates": [], "roles": [], "notices": []}
    assert _cluster_instances(sim) == []
