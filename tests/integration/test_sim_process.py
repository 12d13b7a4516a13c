"""`spotchaos sim up` as users run it: state directory, clean stop on SIGTERM, clear errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from cluster.endpoints import Endpoints
from tests.conftest import start_sim


def _port_open(url: str) -> bool:
    u = urlparse(url)
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((u.hostname, u.port)) == 0


def test_sigterm_stops_cleanly_leaving_no_process_or_port(tmp_path):
    handle = start_sim(tmp_path, node_address_octet=80)
    ep = handle.endpoints
    assert (handle.state_dir / "kubeconfig").read_text().count(ep.kube_api_url) == 1
    assert Endpoints.read(handle.state_dir).clock_speed == 20.0
    status = subprocess.run([sys.executable, "-m", "chaos.cli", "sim", "status", "--state-dir", str(handle.state_dir)], capture_output=True, text=True, timeout=30)
    assert status.returncode == 0 and ep.kube_api_url in status.stdout
    second = subprocess.run([sys.executable, "-m", "chaos.cli", "sim", "up", "--state-dir", str(handle.state_dir)], capture_output=True, text=True, timeout=30)
    assert second.returncode == 3 and "already running" in second.stderr
    assert handle.stop() == 0
    assert not _port_open(ep.kube_api_url) and not _port_open(ep.aws_endpoint_url)
    assert not (handle.state_dir / "endpoints.json").exists()
    status = subprocess.run([sys.executable, "-m", "chaos.cli", "sim", "status", "--state-dir", str(handle.state_dir)], capture_output=True, text=True, timeout=30)
    assert status.returncode == 1


def test_bad_config_is_one_clear_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("speed: -3\n")
    res = subprocess.run([sys.executable, "-m", "chaos.cli", "sim", "up", "--state-dir", str(tmp_path / "s"), "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 3
    assert "speed" in res.stderr and "Traceback" not in res.stderr
    cfg.write_text("timings: {instance_boot: 1, warp: 2}\n")
    res = subprocess.run([sys.executable, "-m", "chaos.cli", "sim", "up", "--state-dir", str(tmp_path / "s"), "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 3 and "timings.warp" in res.stderr


def test_the_clock_stands_still_while_the_simulator_is_stopped_and_every_reader_sees_it(tmp_path):
    """SIGSTOP is starvation at its most: the simulator's process gets no CPU at all.  Its clock, as
    the clock file named in endpoints.json gives it to a reader in another process, stands still
    meanwhile, runs again after SIGCONT, and the ConfigMap says how long it stood still."""
    import json
    import os
    import signal
    import time

    from cluster.published_clock import ClockReader
    from cluster.sim.clock import CAP
    from cluster.waiting import wait_for

    handle = start_sim(tmp_path, node_address_octet=81)
    try:
        ep = handle.endpoints
        reader = ClockReader(Path(ep.extra["clock_file"]))
        speed = ep.clock_speed
        first = reader.cluster_now()
        wait_for(lambda: reader.cluster_now() - first >= 0.5 * speed, 10, "the clock to run")
        os.kill(ep.pid, signal.SIGSTOP)
        try:
            stopped_at = reader.cluster_now()
            time.sleep(1.0)  # the simulator is held: this is the starvation under test, not a wait for state
            held = reader.cluster_now() - stopped_at
        finally:
            os.kill(ep.pid, signal.SIGCONT)
        assert held <= (CAP + 0.05) * speed, f"cluster time moved {held:.2f}s while the simulator was stopped"
        resumed = reader.cluster_now()
        wait_for(lambda: reader.cluster_now() - resumed >= 0.5 * speed, 10, "the clock to run again")

        def stalled() -> float:
            out = subprocess.run(["kubectl", "--kubeconfig", ep.kubeconfig, "-n", "kube-system", "get", "configmap", "spotchaos-sim", "-o",
                                  "jsonpath={.data}"], capture_output=True, text=True, timeout=30)
            return float(json.loads(out.stdout or "{}").get("clockStalledSeconds", 0))

        wait_for(lambda: stalled() >= 0.8, 15, "the ConfigMap to say how long the clock stood still")
        reader.close()
    finally:
        handle.stop()


def test_a_stopped_simulator_leaves_no_task_of_any_part_running(tmp_path):
    """Every part (controllers, add-ons, the ALB and its pooled connections, pods, IMDS, the
    clock) is stopped by the one ordered list of parts: after a demo cluster served traffic, the
    simulator's SIGTERM leaves no task of its loop running (it logs `tasks_left_after_stop`
    otherwise) and it exits 0."""
    import json
    import signal
    import time

    from cluster.waiting import wait_for
    from tests.integration.helpers import predict_ok

    state, log_path = tmp_path / "state", tmp_path / "sim.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", "up", "--speed", "20", "--demo-nodes", "2", "--demo-replicas", "2",
                                 "--state-dir", str(state), "--log-format", "json"], stdout=log, stderr=subprocess.STDOUT)
    try:
        ep = wait_for(lambda: Endpoints.read(state) if (state / "endpoints.json").exists() else None, 60, "the simulator")
        kubectl = ["kubectl", "--kubeconfig", ep.kubeconfig]

        def alb() -> str | None:
            out = subprocess.run([*kubectl, "get", "ingress", "-A", "-o", "json"], capture_output=True, text=True, timeout=30).stdout
            for item in json.loads(out or "{}").get("items", []):
                for entry in (item.get("status") or {}).get("loadBalancer", {}).get("ingress") or []:
                    port = (entry.get("ports") or [{}])[0].get("port", 80)
                    return f"http://{entry['ip']}:{port}/v1/models/resnet:predict"
            return None

        url = wait_for(alb, 90, "the demo's ALB")

        wait_for(lambda: predict_ok(url), 120, "a prediction through the ALB")
        for _ in range(20):  # keep-alive connections pooled at the ALB, answers remembered by the pods
            assert predict_ok(url)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 20
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = []
    for line in log_path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # not a log line (what the demo prints)
        if isinstance(event, dict):
            events.append(event)
    names = [e.get("event") for e in events]
    assert "simulator_stopped" in names, names[-20:]
    assert "tasks_left_after_stop" not in names, next(e for e in events if e.get("event") == "tasks_left_after_stop")
    stopped = next(e for e in events if e.get("event") == "simulator_stopped")
    assert stopped["slow_to_stop"] == [] and stopped["failed_to_stop"] == [], stopped
