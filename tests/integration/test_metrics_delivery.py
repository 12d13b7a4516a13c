"""A run's metrics where teams watch them: a real Prometheus Pushgateway the test starts (Debian's
prometheus-pushgateway) and the simulator's CloudWatch (boto3 over HTTP, as the environment
configures it), from `spotchaos run --metrics`; the same samples in the run directory as
OpenMetrics text; a gateway that does not answer is a warning, never the run's exit code."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from chaos.delivery.metrics import MetricsInputError, parse_metrics_url
from cluster.waiting import wait_for

pytestmark = pytest.mark.usefixtures("spot_sim_forks")  # runs fork their simulators from the session's server

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "single-spot-node-fis.yaml"
HYPOTHESES = {"cordoned-within", "drained-before-reclaim", "targets-deregistered-before-reclaim", "replacement-ready-within",
              "replicas-restored-within", "error-rate", "window-error-rate", "error-window", "p99-latency"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pushgateway(tmp_path: Path):
    binary = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    assert binary, "prometheus-pushgateway is not installed (.ci/run installs it)"
    port = _free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up() -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2).status == 200
        except OSError:
            return False

    try:
        wait_for(up, 30, "the Pushgateway")
        yield port
    finally:
        proc.kill()
        proc.wait()


def test_a_run_pushes_its_metrics_to_a_pushgateway_and_cloudwatch_and_keeps_them_as_openmetrics(sim, pushgateway: int, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "AWS_ENDPOINT_URL": sim.endpoints.aws_endpoint_url, "AWS_DEFAULT_REGION": sim.endpoints.region,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(EXPERIMENT), "--report-dir", str(out), "--no-live", "--history", "off",
                           "--metrics", f"prometheus://127.0.0.1:{pushgateway}/spotchaos", "--metrics", "cloudwatch://Spotchaos/Runs"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "pushed" in done.stderr and "put" in done.stderr, done.stderr

    scraped = urllib.request.urlopen(f"http://127.0.0.1:{pushgateway}/metrics", timeout=5).read().decode()
    families = {f.name: f for f in text_string_to_metric_families(scraped)}
    (passed,) = families["spotchaos_run_passed"].samples
    assert passed.value == 1.0 and passed.labels["experiment"] == "single-spot-node-fis" and passed.labels["job"] == "spotchaos"
    assert passed.labels["cluster"] == "TensorFlowServingCluster"
    held = {s.labels["hypothesis"]: s.value for s in families["spotchaos_hypothesis_held"].samples}
    assert held == {name: 1.0 for name in HYPOTHESES}
    milestones = {s.labels["milestone"] for s in families["spotchaos_node_milestone_seconds"].samples}
    assert {"cordon", "drained", "replacement_ready"} <= milestones

    kept = {f.name: f for f in openmetrics_families((out / "metrics.openmetrics.txt").read_text())}
    assert {s.labels["hypothesis"] for s in kept["spotchaos_hypothesis_value"].samples} == HYPOTHESES
    drained = next(s.value for s in kept["spotchaos_hypothesis_value"].samples if s.labels["hypothesis"] == "drained-before-reclaim")
    assert drained == next(s.value for s in families["spotchaos_hypothesis_value"].samples if s.labels["hypothesis"] == "drained-before-reclaim")

    cloudwatch = sim.aws("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace="Spotchaos/Runs", MetricName="spotchaos_hypothesis_held")["Metrics"]
    assert {d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "Hypothesis"} == HYPOTHESES
    assert all({"Experiment": "single-spot-node-fis"}.items() <= {d["Name"]: d["Value"] for d in m["Dimensions"]}.items() for m in listed)


def test_a_pushgateway_that_does_not_answer_is_a_warning_and_bad_destinations_are_refused_first(tmp_path: Path) -> None:
    for bad, said in (("http://gw:9091", "prometheus://HOST:PORT/JOB"), ("prometheus://gw/job", "prometheus://HOST:PORT/JOB"),
                      ("prometheus://gw:9091/", "prometheus://HOST:PORT/JOB"), ("cloudwatch://AWS/EC2", "not AWS/")):
        with pytest.raises(MetricsInputError, match=said.replace("/", "/")):
            parse_metrics_url(bad)
    refused = subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(EXPERIMENT), "--report-dir", str(tmp_path / "never"), "--metrics", "http://gw:9091"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 3 and "--metrics" in refused.stderr + refused.stdout and not (tmp_path / "never").exists()

    from chaos.report.write import write_reports
    from chaos.run.results import Destinations, deliver
    from tests.unit.test_verdicts import good_journal

    run = tmp_path / "run"
    run.mkdir()
    import json

    (run / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in good_journal()))
    data, reports = write_reports(run / "journal.jsonl")
    delivered = deliver(data, run, reports, Destinations(history="off", metrics=(parse_metrics_url(f"prometheus://127.0.0.1:{_free_port()}/spotchaos"),)))
    assert delivered.metrics == [] and len(delivered.warnings) == 1 and "metrics.openmetrics.txt has them" in delivered.warnings[0]
