"""`spotchaos sim up` as users run it: state directory, clean stop on SIGTERM, clear errors."""

from __future__ import annotations

import socket
import subprocess
import sys
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
