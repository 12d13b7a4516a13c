"""The `eks` target, pointed at the simulator as if it were a real cluster: a kubeconfig context
and an AWS region, with boto3 sent to the simulator's AWS through AWS_ENDPOINT_URL (the standard
variable every AWS SDK reads).  The run takes the eks path end to end up to the injection: the
context from the kubeconfig, the account from STS checked against the allow-list, the context
against its allow-list, observers filtered to the cluster's tagged resources, the plan choosing
nodes; `--dry-run` keeps it from injecting, since on eks cluster time is wall time and a whole
run would take minutes.  A foreign account is refused before anything is touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import SimProcess, start_sim
from tests.e2e.test_experiments import fresh_machine_env
from tests.support.journals import read_whole_journal as read_journal

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory) -> SimProcess:
    sim = start_sim(tmp_path_factory.mktemp("eks-sim"), speed=20.0, imds={"port": 1350})
    res = subprocess.run([sys.executable, "-m", "chaos.cli", "provision", "--profile", "hardened", "--state-dir", str(sim.state_dir)],
                         capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    yield sim
    sim.stop()


def _eks_run(sim: SimProcess, tmp_path: Path, accounts: list[str]) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
    data["target"] = {"kind": "eks", "kubeconfig": sim.endpoints.kubeconfig, "context": sim.endpoints.kube_context, "region": sim.endpoints.region,
                      "allowed_accounts": accounts, "allowed_contexts": [sim.endpoints.kube_context],
                      "fis_role_arn": "arn:aws:iam::123456789012:role/spotchaos-fis"}
    data["cluster"] = {"profile": None, "name": "TensorFlowServingCluster", "service": {"namespace": "serving"}}
    path = tmp_path / "eks.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    # on eks credentials come from the environment, as they would from a profile or a role
    env = fresh_machine_env() | {"AWS_ENDPOINT_URL": str(sim.endpoints.aws_endpoint_url), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(path), "--dry-run", "--report-dir", str(out), "--no-live"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert (out / "journal.jsonl").exists(), proc.stdout + proc.stderr[-3000:]
    return proc, read_journal(out / "journal.jsonl")


def test_an_eks_dry_run_checks_the_allow_lists_and_plans_on_the_cluster(provisioned, tmp_path):
    sim = provisioned
    proc, records = _eks_run(sim, tmp_path, ["123456789012"])
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    connected = next(r for r in records if r["kind"] == "connected")
    assert connected["target"] == "eks" and connected["speed"] == 1.0 and not connected["started_simulator"]
    guard = next(r for r in records if r["kind"] == "guardrails")
    assert guard == {**guard, "target": "eks", "account": "123456789012", "context": sim.endpoints.kube_context}
    plan = next(r for r in records if r["kind"] == "plan")
    (chosen,) = plan["injections"][0]["first_wave"]
    assert chosen["instance"].startswith("i-") and plan["nodes"] >= 20
    assert plan["url"].startswith("http://127.") and plan["url"].endswith("/v1/models/resnet:predict")
    # the observers saw the cluster through its tagged resources
    assert any(r["kind"] == "target" for r in records) and any(r["kind"] == "instance" for r in records)
    assert not any(r["kind"] == "injected" for r in records)
    assert sim.aws("fis").list_experiments()["experiments"] == []


def test_an_account_off_the_allow_list_is_refused_before_anything_is_touched(provisioned, tmp_path):
    sim = provisioned
    proc, records = _eks_run(sim, tmp_path, ["111111111111"])
    assert proc.returncode == 2, proc.stdout + proc.stderr[-3000:]
    reason = next(r for r in records if r["kind"] == "abort")["reason"]
    assert reason == "AWS account 123456789012 is not in target.allowed_accounts (111111111111); refusing to run"
    assert not any(r["kind"] in ("plan", "injected", "provisioned") for r in records)
    assert sim.aws("fis").list_experiments()["experiments"] == []
