"""Shared fixtures: start `spotchaos sim up` as its own process, as users do, and clients for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml

from cluster.endpoints import Endpoints
from cluster.waiting import wait_for

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
# runs the tests start register in a directory of their own, not in the user's list of runs
os.environ.setdefault("SPOTCHAOS_RUNS_DIR", tempfile.mkdtemp(prefix="spotchaos-test-runs-"))
os.environ.setdefault("SPOTCHAOS_HISTORY", "sqlite:///" + tempfile.mkdtemp(prefix="spotchaos-test-history-") + "/history.sqlite")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

# Compressed control-plane timings so that tests finish quickly at speed 20 (cluster seconds).
FAST_TIMINGS = {
    "instance_boot": 10.0,
    "node_ready": 2.0,
    "pod_start": 2.0,
    "node_monitor_grace": 40.0,
    "node_deletion": 5.0,
    "pod_gc": 10.0,
    "aws_poll": 2.0,
}


@dataclass
class SimProcess:
    proc: subprocess.Popen[bytes]
    state_dir: Path
    endpoints: Endpoints
    log_path: Path

    def aws(self, service: str):  # boto3 client against the simulator
        return boto3.client(service, endpoint_url=self.endpoints.aws_endpoint_url, region_name=self.endpoints.region)

    def kube(self):
        from kubernetes import client, config

        api_client = config.new_client_from_config(config_file=self.endpoints.kubeconfig)
        return client.CoreV1Api(api_client), client.AppsV1Api(api_client), client.PolicyV1Api(api_client), api_client

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


def start_sim(directory: Path, speed: float | str = 20.0, timings: dict[str, float] | None = None, **extra: object) -> SimProcess:
    directory.mkdir(parents=True, exist_ok=True)
    cfg = {"speed": speed, "timings": timings or FAST_TIMINGS, "watch_history": 500, "bookmark_interval": 0.5}
    cfg.update(extra)
    cfg_path = directory / "sim.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    log_path = directory / "sim.log"
    log = open(log_path, "wb")  # noqa: SIM115 - kept open for the process's life
    proc = subprocess.Popen(
        [sys.executable, "-m", "chaos.cli", "sim", "up", "--state-dir", str(directory / "state"), "--config", str(cfg_path), "--log-format", "json"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    state = directory / "state"

    def ready() -> Endpoints | None:
        if proc.poll() is not None:
            raise RuntimeError(f"simulator exited early with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            return Endpoints.read(state)
        except (OSError, ValueError):
            return None

    endpoints = wait_for(ready, timeout=60, what="the simulator's endpoints.json")
    return SimProcess(proc, state, endpoints, log_path)


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """One simulator at speed 20 shared by the integration tests (each test uses its own node group and namespace)."""
    handle = start_sim(tmp_path_factory.mktemp("sim"))
    yield handle
    handle.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The generator latency test first, on a quiet machine (before any simulator or experiment
    has run), then the whole experiments, then the rest."""

    def rank(item: pytest.Item) -> int:
        path = str(item.path)
        return 0 if path.endswith("test_generator_latency.py") else 1 if "/e2e/" in path else 2

    items.sort(key=rank)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of the tests' own (tests/postgres.py); its base URL."""
    from tests.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty run history: an SQLite file, and a database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    from tests.postgres import fresh_database

    return fresh_database(request.getfixturevalue("postgres"))
