"""API faults do not stop provisioning or teardown: with a fault proxy between the CLI and the
simulator's Kubernetes API (and another in front of its AWS endpoint) failing a share of the
requests with 429 + Retry-After, 500, 503, dropped connections and delays, `spotchaos provision`
still brings the seed cluster up and `spotchaos teardown` still leaves nothing."""

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

NAME = "faulty"


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    sim = start_sim(tmp_path_factory.mktemp("faultsim"), node_address_octet=40, imds={"port": 1353})
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
