"""Simulators forked from one process that imported the simulator once (the pytest plugin's way of
starting a simulator per experiment): a real fork server, real simulators, real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client

from chaos.host.forkserver import (
    FORKSERVER_ENV,
    SHARED_ENV,
    ForkedSimulator,
    ForkServer,
    share_with_children,
    stop_shared,
)
from chaos.kube.clients import api_client
from chaos.target import Target, fork_simulators, start_simulator
from cluster.endpoints import is_recorded_simulator
from cluster.waiting import wait_for


def _ppid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _gone(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


@pytest.fixture
def forks():
    server = ForkServer()
    before = fork_simulators(server)
    yield server
    fork_simulators(before)
    server.close()


def test_a_run_starts_its_simulator_as_a_fork_that_serves_and_stops(forks: ForkServer, tmp_path: Path) -> None:
    conn = start_simulator(Target(kind="local", speed=20), tmp_path / "state", tmp_path / "sim.log")
    proc = conn.process
    assert isinstance(proc, ForkedSimulator)
    assert _ppid(proc.pid) == forks.pid != os.getpid()  # not this process's child: the fork server's
    shown = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert " sim up --speed 20 " in shown and "forkserver" not in shown  # ps and pgrep -f see the simulator, not another fork server
    assert is_recorded_simulator(conn.endpoints)  # what `sim status`, `sim down` and cleanup go by
    assert client.CoreV1Api(api_client(conn.endpoints)).list_namespace().items  # its Kubernetes API answers
    assert conn.stop() == f"simulator pid {proc.pid} stopped"
    assert proc.returncode == 0  # the exit code, from the server that reaped it
    assert "simulator_stopped" in (tmp_path / "sim.log").read_text()
    assert _gone(proc.pid)


def test_a_fork_that_fails_says_why_in_its_log_with_its_exit_code(forks: ForkServer, tmp_path: Path) -> None:
    proc = forks.spawn(["up", "--state-dir", str(tmp_path), "--demo-nodes", "-1"], tmp_path / "sim.log", dict(os.environ))
    assert proc.wait(timeout=30) == 3
    assert "--demo-nodes must be 0 or more" in (tmp_path / "sim.log").read_text()


def test_a_fork_server_that_died_is_started_again(forks: ForkServer, tmp_path: Path) -> None:
    first = forks.spawn(["up", "--state-dir", str(tmp_path / "a"), "--demo-nodes", "-1"], tmp_path / "a.log", dict(os.environ))
    first.wait(timeout=30)
    dead = forks.pid
    assert dead is not None
    os.kill(dead, signal.SIGKILL)
    wait_for(lambda: forks.pid is None, 10, "the fork server to die")
    dead_dir = forks.socket_path.parent
    second = forks.spawn(["up", "--state-dir", str(tmp_path / "b"), "--demo-nodes", "-1"], tmp_path / "b.log", dict(os.environ))
    assert second.wait(timeout=30) == 3
    assert forks.pid not in (None, dead)
    assert not dead_dir.exists() and forks.socket_path.parent.exists()  # the dead server's directory is not left behind


def test_the_fork_server_stops_when_the_process_it_serves_exits(tmp_path: Path) -> None:
    served = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    sock = tmp_path / "s"
    server = subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", "forkserver", str(sock), "--exit-with", str(served.pid)])
    try:
        wait_for(sock.exists, 60, "the fork server's socket")
        served.kill()
        served.wait()
        started = time.monotonic()
        assert server.wait(timeout=20) == 0
        assert time.monotonic() - started < 20
        assert not sock.exists()
    finally:
        served.kill()
        server.kill()


_START_IN_A_PROCESS_OF_ITS_OWN = """
import sys
from pathlib import Path
from chaos.target import Target, start_simulator
conn = start_simulator(Target(kind="local", speed=20), Path(sys.argv[1]), Path(sys.argv[2]))
status = Path(f"/proc/{conn.process.pid}/status").read_text()
ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
print(type(conn.process).__name__, ppid, conn.stop())
"""


def _start_in_a_process_of_its_own(tmp_path: Path, env: dict[str, str]) -> tuple[str, int, str]:
    done = subprocess.run([sys.executable, "-c", _START_IN_A_PROCESS_OF_ITS_OWN, str(tmp_path / "state"), str(tmp_path / "sim.log")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    kind, ppid, *stopped = done.stdout.strip().splitlines()[-1].split()  # after any log lines
    return kind, int(ppid), " ".join(stopped)


def test_a_run_in_a_process_of_its_own_forks_from_the_server_its_starter_names(forks: ForkServer, tmp_path: Path) -> None:
    forks.start()
    env = {**os.environ, FORKSERVER_ENV: str(forks.socket_path)}
    kind, ppid, stopped = _start_in_a_process_of_its_own(tmp_path / "named", env)
    assert (kind, ppid) == ("ForkedSimulator", forks.pid) and stopped.endswith("stopped")
    # a server named but gone: the run starts its simulator as a process of its own, and says why
    gone = {**os.environ, FORKSERVER_ENV: str(tmp_path / "no-such-socket")}
    kind, ppid, stopped = _start_in_a_process_of_its_own(tmp_path / "gone", gone)
    assert kind == "Popen" and ppid != forks.pid and stopped.endswith("stopped")


def test_the_processes_of_a_session_share_one_server_which_its_owner_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHARED_ENV, raising=False)
    directory = share_with_children()  # as pytest-xdist's controller does before its workers start
    try:
        workers = [ForkServer.from_environment() for _ in range(3)]
        starts = [threading.Thread(target=w.start) for w in workers]  # at the same time: one of them starts it
        for t in starts:
            t.start()
        for t in starts:
            t.join(timeout=90)
        pids = {w.pid for w in workers}
        assert len(pids) == 1 and None not in pids
        server = pids.pop()
        assert server is not None and _ppid(server) == os.getpid()  # started by one of this process's "workers", serving until it exits
        forked = workers[2].spawn(["up", "--state-dir", str(tmp_path), "--demo-nodes", "-1"], tmp_path / "sim.log", dict(os.environ))
        assert forked.wait(timeout=30) == 3  # its exit code, from the shared server that forked and reaped it
        for w in workers:
            w.close()  # a worker's end leaves the shared server to the session
        assert workers[0].pid == server
    finally:
        stop_shared(directory)
    assert workers[0].pid is None and not directory.exists() and SHARED_ENV not in os.environ


def test_a_shared_servers_pid_that_another_process_got_is_not_that_server(tmp_path: Path) -> None:
    directory = tmp_path / "forks"
    directory.mkdir()
    (directory / "pid").write_text(f"{os.getpid()} 1")  # this process's pid with another start time: the server gone, its pid reused
    assert ForkServer.shared(directory, os.getpid()).pid is None
    stop_shared(directory)  # signals nothing (it would have ended this test's process)
    assert not directory.exists()
