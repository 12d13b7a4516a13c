"""API faults do not stop provisioning or teardown: with a fault proxy between the CLI and the
simulator's Kubernetes API (and another in front of its AWS endpoint) failing a share of the
requests with 429 + Retry-After, 500, 503, dropped connections and delays, `spotchaos provision`
still brings the seed cluster up and `spotchaos teardown` still leaves nothing; a whole experiment
reaches the verdict of a clean run and journals its retries; an API that never answers ends the
run with exit 3 naming it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
import yaml

from cluster.endpoints import Endpoints
from tests.conftest import start_sim
from tests.support.fault_proxy import FaultProxy

pytestmark = pytest.mark.usefixtures("spot_sim_forks")  # runs fork their simulators from the session's server

NAME = "faulty"


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    # a fixed speed: the provisioning tests here run no experiment that would set an auto simulator's speed
    sim = start_sim(tmp_path_factory.mktemp("faultsim"), speed=20.0, imds={"port": 1353})
    kube = FaultProxy(sim.endpoints.kube_api_url, rate=0.15, seed=3)
    aws = FaultProxy(sim.endpoints.aws_endpoint_url, rate=0.05, seed=4, faults=("500", "503", "drop", "delay"), kubernetes=False)
    state = tmp_path_factory.mktemp("proxied-state")
    config = yaml.safe_load(open(sim.endpoints.kubeconfig))
    for c in config["clusters"]:
        c["cluster"]["server"] = kube.url
    (state / "kubeconfig").write_text(yaml.safe_dump(config))
    dataclasses.replace(sim.endpoints, kubeconfig=str(state / "kubeconfig"), aws_endpoint_url=aws.url, kube_api_url=kube.url).write(state)
    yield sim, state, kube, aws
    kube.close()
    aws.close()
    sim.stop()


def _cli(*args, state):
    env = {**os.environ, "SPOTCHAOS_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "chaos.cli", *args, "--state-dir", str(state)], capture_output=True, text=True, timeout=400, env=env)


def test_provision_and_teardown_get_past_api_faults(faulty):
    sim, state, kube, aws = faulty
    assert Endpoints.read(state).kubeconfig != sim.endpoints.kubeconfig
    up = _cli("provision", "--profile", "seed", "--name", NAME, "--timeout", "240", state=state)
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
    assert kube.counts["429"] and kube.counts["503"] and kube.counts["drop"], kube.counts  # the faults really happened
    assert aws.counts["requests"] > 0
    core, apps, _, _ = sim.kube()
    deploy = apps.read_namespaced_deployment("resnet-v1", "default")
    assert deploy.status.ready_replicas == deploy.spec.replicas
    down = _cli("teardown", "--profile", "seed", "--name", NAME, "--timeout", "240", state=state)
    assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-3000:]
    assert apps.list_namespaced_deployment("default").items == [] and core.list_node().items == []
    running = sim.aws("ec2").describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    assert running == []


def _experiment(tmp_path, state) -> str:
    data = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "single-spot-node-fis.yaml")))
    data["target"] = {"simulator": {"state_dir": str(state)}}
    data["traffic"].update({"rate": 100, "warmup": "20s", "tail": "10s"})
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_a_whole_experiment_through_api_faults_reaches_the_clean_verdict_and_counts_its_retries(faulty, tmp_path):
    """Provisioning, observation, injection, rollback and teardown all through the faulty APIs:
    the known-good experiment still passes every hypothesis, and its journal says how many calls
    were retried, per API."""
    from tests.support.journals import read_whole_journal as read_journal

    sim, state, kube, aws = faulty
    before = (kube.counts["requests"], sum(kube.counts[f] for f in ("429", "500", "503", "drop", "delay")))
    proc = subprocess.run([sys.executable, "-m", "chaos.cli", "run", _experiment(tmp_path, state), "--report-dir", str(tmp_path / "run"), "--no-live"],
                          capture_output=True, text=True, timeout=600)
    records = read_journal(tmp_path / "run" / "journal.jsonl")
    verdict = [r for r in records if r["kind"] == "verdict"][-1]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert verdict["status"] == "passed" and all(h["status"] == "pass" for h in verdict["hypotheses"]), verdict
    faulted = sum(kube.counts[f] for f in ("429", "500", "503", "drop", "delay")) - before[1]
    assert kube.counts["requests"] - before[0] > 50 and faulted >= 3, kube.counts  # the run really went through the faults (watches are spared)
    retried = [r for r in records if r["kind"] == "api_retries"][-1]
    assert retried["total"] > 0 and any(api.startswith("kubernetes") for api in retried["counts"]), retried
    assert "API calls retried" in (tmp_path / "run" / "report.md").read_text()
    assert [r for r in records if r["kind"] == "rollback" and r["step"].startswith("tear down") and r["ok"]]


def test_an_api_that_never_answers_ends_the_run_with_exit_3_naming_it(faulty, tmp_path):
    """Every AWS call fails: past its retries the run stops with exit 3 and one line naming the AWS
    operation and its answer, and nothing is left provisioned."""
    from tests.support.journals import read_whole_journal as read_journal

    sim, state, _, aws = faulty
    broken = FaultProxy(sim.endpoints.aws_endpoint_url, rate=1.0, seed=5, faults=("503",), kubernetes=False)
    try:
        dead_state = tmp_path / "dead-aws"
        dead_state.mkdir()
        base = Endpoints.read(state)
        dataclasses.replace(base, aws_endpoint_url=broken.url).write(dead_state)
        proc = subprocess.run([sys.executable, "-m", "chaos.cli", "run", _experiment(tmp_path, dead_state), "--report-dir", str(tmp_path / "run"),
                               "--no-live"], capture_output=True, text=True, timeout=300)
    finally:
        broken.close()
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    error = [r for r in read_journal(tmp_path / "run" / "journal.jsonl") if r["kind"] == "error"][0]["message"]
    assert "AWS" in error and "503" in error, error  # the API, its answer and the operation, in one line
    assert "AWS" in proc.stdout and "Traceback" not in proc.stdout
    running = sim.aws("ec2").describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    assert running == []
