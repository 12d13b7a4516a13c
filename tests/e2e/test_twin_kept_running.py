"""Many experiments on one twin: a simulator kept running (`target.simulator.state_dir`) holds the
twin the first run built; the next run of the same inputs reuses it, launching and applying
nothing, and waits until what the last run interrupted has recovered before it plans; one that
does not recover in time aborts the run, naming it; a run beside a live one on the same cluster,
and a twin of other inputs, are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chaos.journal.records import PhaseRecord, ProvisionedRecord
from chaos.run import RunOptions, run_experiment
from chaos.spec import parse_experiment
from cluster.waiting import wait_for
from tests.conftest import SimProcess, start_sim
from tests.e2e.test_experiments import fresh_machine_env
from tests.support.journals import read_whole_journal as read_journal

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e]


def _spec(sim: SimProcess, name: str = "twin-shop-spot") -> dict:
    """A shipped twin experiment, made to build its twin in `sim` and keep it there."""
    data = yaml.safe_load((ROOT / "experiments" / f"{name}.yaml").read_text())
    sources = data["cluster"]["from"]
    for key in ("eksctl", "behaviours"):
        sources[key] = str(ROOT / "experiments" / sources[key])
    sources["kustomize"] = [str(ROOT / "experiments" / k) for k in sources["kustomize"]]
    data["target"] = {"kind": "local", "speed": "auto", "simulator": {"state_dir": str(sim.state_dir)}}
    data["cluster"]["teardown"] = False
    data["traffic"].update({"warmup": "20s", "tail": "10s"})
    return data


def _write(tmp_path: Path, data: dict, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _cli(path: Path, out: Path) -> subprocess.Popen[str]:
    """`spotchaos run --dry-run`: it connects, provisions (builds or reuses the twin), settles and
    plans, and injects nothing: all of what this module tests, in a few seconds a run."""
    return subprocess.Popen([sys.executable, "-m", "chaos.cli", "run", str(path), "--dry-run", "--report-dir", str(out), "--no-live", "--history", "off"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=fresh_machine_env(), cwd=ROOT)


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _kinds(journal: Path, kind: str) -> list[dict]:
    if not journal.exists():
        return []
    return [r for r in (json.loads(line) for line in journal.read_text().splitlines() if line.strip()) if r.get("kind") == kind]


def _cordon(sim: SimProcess, on: bool, node: str | None = None) -> str:
    """Cordon (or uncordon) `node`, by default the first by name; returns its name."""
    core, *_ = sim.kube()
    node = node or sorted(n.metadata.name for n in core.list_node().items)[0]
    core.patch_node(node, {"spec": {"unschedulable": on}})
    return node


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory):
    sim = start_sim(tmp_path_factory.mktemp("kept"), speed="auto", node_address_octet=110, imds={"port": 1361})
    yield sim
    sim.stop()


def test_the_twin_is_built_once_and_the_next_run_waits_until_the_last_one_has_recovered(kept, tmp_path):
    path = _write(tmp_path, _spec(kept), "twin")
    first = _cli(path, tmp_path / "first")
    stdout, stderr = _finish(first)
    assert first.returncode == 0, stdout + stderr[-3000:]
    built = read_journal(tmp_path / "first" / "journal.jsonl")
    (made,) = [r for r in built if r["kind"] == "provisioned"]
    assert any(line.startswith("node group ") for line in made["twin"]) and not any("reused" in line for line in made["twin"]), made["twin"]

    # a node left cordoned stands for a drain still going on: the next run must not plan on it
    node = _cordon(kept, True)
    out = tmp_path / "second"
    second = _cli(path, out)
    journal = out / "journal.jsonl"
    try:
        wait_for(lambda: any(p["phase"] == "settle" for p in _kinds(journal, "phase")), 120, "the second run to reach its settle phase")
        # held there: two health seconds go by and it has not planned
        settle_t = next(p["t"] for p in _kinds(journal, "phase") if p["phase"] == "settle")
        wait_for(lambda: len([h for h in _kinds(journal, "health") if h["start_t"] >= settle_t]) >= 2, 30, "two health seconds after the settle phase")
        assert not [p for p in _kinds(journal, "phase") if p["phase"] == "plan"]
        # a third run at the same time would inject beside it: refused before it touches anything
        third = _cli(path, tmp_path / "third")
        out3, err3 = _finish(third)
        said = " ".join((out3 + err3).split())
        assert third.returncode == 3 and "is running on this cluster now" in said, said
        assert not [p for p in _kinds(tmp_path / "third" / "journal.jsonl", "phase") if p["phase"] in ("provision", "plan")]
    finally:
        _cordon(kept, False, node)  # the drain "ends": the run goes on (and the next test finds the node schedulable)
    stdout, stderr = _finish(second)
    assert second.returncode == 0, stdout + stderr[-3000:]
    records = read_journal(journal)
    (reused,) = [r for r in records if r["kind"] == "provisioned"]
    assert reused["twin"] and reused["twin"][0].startswith("reused: the twin of these same inputs"), reused["twin"]
    assert "Reused from the simulator it was built in" in (out / "report.md").read_text()
    phases = {r["phase"]: r["t"] for r in records if r["kind"] == "phase"}
    waited = [h for h in records if h["kind"] == "health" and phases["settle"] <= h["start_t"] < phases["plan"]]
    assert len(waited) >= 2, (phases, node)  # it planned only once the node was uncordoned
    groups = kept.aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert len(groups) == len([line for line in made["twin"] if line.startswith("node group ")])  # nothing launched twice


async def test_a_cluster_that_does_not_settle_aborts_the_run_and_other_inputs_are_refused(kept, tmp_path, monkeypatch):
    """After the test above (or on its own: the first, dry, run here builds the twin).  The settle
    bound is cut to 5 cluster seconds in this process so that a node left cordoned aborts the run now."""
    import chaos.run.lifecycle as lifecycle

    spec = parse_experiment(_spec(kept), "twin")
    _, run = await run_experiment(spec, RunOptions(tmp_path / "build", dry_run=True))
    assert run.verdict.status == "passed", run.verdict.reason
    node = _cordon(kept, True)
    try:
        monkeypatch.setattr(lifecycle, "SETTLE_TIMEOUT_S", 5.0)
        _, run = await run_experiment(spec, RunOptions(tmp_path / "unsettled"))
    finally:
        _cordon(kept, False, node)
    assert run.verdict.status == "aborted" and run.verdict.exit_code == 2, run.verdict.reason
    assert "has not settled since the last run on this simulator" in run.verdict.reason and f"node {node} cordoned" in run.verdict.reason, run.verdict.reason
    records = run.journal.snapshot()
    assert [r.phase for r in records if isinstance(r, PhaseRecord)][-2:] == ["settle", "rollback"]  # nothing planned, nothing injected

    other = parse_experiment(_spec(kept, "bad-twin-single-replica"), "other")
    _, run = await run_experiment(other, RunOptions(tmp_path / "other"))
    assert run.verdict.status == "error", run.verdict.reason
    assert "this simulator holds the twin of other inputs" in run.verdict.reason and "start a fresh simulator" in run.verdict.reason, run.verdict.reason
    assert not [r for r in run.journal.snapshot() if isinstance(r, ProvisionedRecord)]
