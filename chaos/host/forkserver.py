"""Simulators forked from one process that imported the simulator once (`spotchaos sim forkserver`,
chaos/cli/sim_forkserver.py), for a session that starts many: the pytest plugin starts one per
experiment, and each start through `python -m chaos.cli sim up` costs about two CPU seconds of
imports before it serves anything.  On a 2-core machine running three experiments side by side,
those seconds are CPU the running experiments' simulators and load generators did not get.

`ForkServer.spawn` answers a `ForkedSimulator`: a handle with what the run asks of a
`subprocess.Popen` (pid, poll, wait, send_signal, kill), through a pidfd, since the simulator
is the fork server's child, not ours.

A process that starts many `spotchaos run`s (a test session, a CI script) can let them fork their
simulators from its own server: `export_to_children` names the server's socket in
SPOTCHAOS_SIM_FORKSERVER, and a run that finds it there attaches to that server (`attached`)
instead of starting a simulator process of its own; one that finds no server there starts its own,
as without the variable.

The workers of one pytest-xdist session share one server (`shared`): the controller names a
directory for it in SPOTCHAOS_SIM_FORKS_SHARED before the workers start, the first worker that
needs the server starts it there (under a lock), the others use it, and the controller stops it at
the session's end.  One server instead of one a worker: its imports (about three CPU seconds)
are paid once, not once a worker at the start, when the workers import the harness too.  The
server is a single-threaded process that forks one child a request: requests from several workers
wait for one another for milliseconds."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError
from cluster.endpoints import process_start_ticks

START_TIMEOUT = 60.0
FORKSERVER_ENV = "SPOTCHAOS_SIM_FORKSERVER"  # the socket of a fork server the runs a process starts may use
SHARED_ENV = "SPOTCHAOS_SIM_FORKS_SHARED"  # "PID:DIR": the directory of a server shared by the processes PID started


class ForkServerError(ChaosError):
    """The fork server could not be started or did not answer."""


class ForkedSimulator:
    """A simulator the fork server forked: the subprocess.Popen calls a run makes, for a process
    that is not our child (its exit code comes from the fork server, which reaps it)."""

    def __init__(self, pid: int, server: ForkServer) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._server = server
        self._fd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self._exited()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._fd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"simulator pid {self.pid}", timeout or 0.0)
            self._exited()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self._fd, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _exited(self) -> None:
        try:
            code = self._server.returncode(self.pid)
        except ForkServerError:
            code = None
        self.returncode = code if code is not None else -1  # exited; the code is lost if the server went first
        os.close(self._fd)


class ForkServer:
    """A `spotchaos sim forkserver` process, started on first use, stopped by `close`; or one
    another process started and stops, reached through its socket (`attached`)."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._attached: Path | None = None
        self._shared_with: int | None = None  # shared: the pid of the process the server serves (and exits with)

    @classmethod
    def attached(cls, socket_path: Path) -> ForkServer:
        """The server listening on `socket_path`, which another process started and will stop."""
        server = cls()
        server._attached = socket_path
        return server

    @classmethod
    def shared(cls, directory: Path, owner: int) -> ForkServer:
        """The server in `directory` that the processes `owner` started share, started by the first
        of them to need it; it serves until `owner` exits (or `stop_shared`)."""
        server = cls()
        server._dir, server._shared_with = directory, owner
        return server

    @classmethod
    def from_environment(cls) -> ForkServer:
        """The server this process's starter shares with its other processes (SHARED_ENV), or one
        of this process's own."""
        owner, _, directory = os.environ.get(SHARED_ENV, "").partition(":")
        if owner.isdigit() and directory and os.path.isdir(directory):
            return cls.shared(Path(directory), int(owner))
        return cls()

    @property
    def pid(self) -> int | None:
        """The fork server's pid while it runs (None for one attached to)."""
        if self._shared_with is not None:
            return _shared_pid(self._dir) if self._dir is not None else None
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def socket_path(self) -> Path:
        """Where the server listens (once started)."""
        return self._socket

    @property
    def _socket(self) -> Path:
        if self._attached is not None:
            return self._attached
        assert self._dir is not None
        return self._dir / "sock"

    def export_to_children(self) -> None:
        """Start the server and, once it listens, name its socket in this process's environment, so
        that the `spotchaos run`s it starts from now on fork their simulators from it."""
        self.start()
        os.environ[FORKSERVER_ENV] = str(self._socket)

    def start_soon(self) -> None:
        """Start the server without waiting for it (it imports the simulator meanwhile); the first
        `spawn` waits for it to listen."""
        if self._attached is not None or (self._proc is not None and self._proc.poll() is None):
            return
        if self._shared_with is not None:
            assert self._dir is not None
            with (self._dir / "lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # one starter: the others find its pid
                if _shared_pid(self._dir) is None:
                    self._proc = self._popen(self._shared_with)
                    (self._dir / "pid").write_text(f"{self._proc.pid} {process_start_ticks(self._proc.pid)}")
            return
        if self._dir is not None:  # a server of ours that died: its directory goes with it
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = Path(tempfile.mkdtemp(prefix="spotchaos-forks-"))  # short: a Unix socket's path is at most 107 bytes
        self._proc = self._popen(os.getpid())

    def _popen(self, exit_with: int) -> subprocess.Popen[bytes]:
        assert self._dir is not None
        with (self._dir / "forkserver.log").open("ab") as log:
            return subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", "forkserver", str(self._socket), "--exit-with", str(exit_with)],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def start(self) -> None:
        """Start the server (when it is not running) and wait until it listens."""
        if self._attached is not None:
            if not self._attached.exists():
                raise ForkServerError(f"no simulator fork server listens at {self._attached} ({FORKSERVER_ENV})")
            return
        if self.pid is not None and self._socket.exists():
            return
        self.start_soon()
        from cluster.waiting import WaitTimeout, wait_for

        try:
            wait_for(lambda: self.pid is None or self._socket.exists(), START_TIMEOUT, "the simulator fork server")
        except WaitTimeout:
            if self.pid is not None:
                os.kill(self.pid, signal.SIGKILL)
            raise ForkServerError(f"the simulator fork server did not start within {START_TIMEOUT:g}s") from None
        if self.pid is None:
            assert self._dir is not None
            tail = (self._dir / "forkserver.log").read_text(errors="replace").strip()[-300:]
            raise ForkServerError(f"the simulator fork server exited at start: {tail or '(no output)'}")

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(30)
                conn.connect(str(self._socket))
                conn.sendall(json.dumps(request).encode() + b"\n")
                answer = json.loads(conn.makefile("rb").readline() or b"{}")
        except (OSError, ValueError) as exc:
            raise ForkServerError(f"the simulator fork server did not answer: {exc}") from None
        if not isinstance(answer, dict):
            raise ForkServerError("the simulator fork server answered something other than an object")
        return answer

    def spawn(self, argv: list[str], log_path: Path, env: dict[str, str]) -> ForkedSimulator:
        """`spotchaos sim ARGV` forked, its output appended to `log_path`."""
        self.start()
        answer = self._ask({"spawn": {"argv": argv, "log": str(log_path.resolve()), "cwd": os.getcwd(), "env": env}})
        pid = answer.get("pid")
        if not isinstance(pid, int) or pid <= 1:
            raise ForkServerError(f"the simulator fork server answered no pid: {answer}")
        return ForkedSimulator(pid, self)

    def returncode(self, pid: int) -> int | None:
        code = self._ask({"status": pid}).get("returncode")
        return code if isinstance(code, int) else None

    def close(self) -> None:
        """Stop the server this process started (one shared, or attached to, is left to its owner)."""
        if self._attached is None and self._dir is not None and os.environ.get(FORKSERVER_ENV) == str(self._socket):
            del os.environ[FORKSERVER_ENV]  # the runs started from now on start their own simulators
        if self._shared_with is not None or self._attached is not None:
            return
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _shared_pid(directory: Path) -> int | None:
    """The pid of the shared server started in `directory`, while it runs (the recorded start time
    tells it from a process that got its pid after it exited)."""
    try:
        recorded, ticks = (directory / "pid").read_text().split()
        pid = int(recorded)
    except (OSError, ValueError):
        return None
    if ticks != str(process_start_ticks(pid)):  # None once it is gone
        return None
    try:  # a zombie (its starter has not reaped it yet) has stopped serving
        return None if "State:\tZ" in Path(f"/proc/{pid}/status").read_text() else pid
    except OSError:
        return None


def share_with_children() -> Path:
    """For a process whose children will each want a fork server (pytest-xdist's controller): a
    directory for the one they share, named in SHARED_ENV for them; `stop_shared` ends it."""
    directory = Path(tempfile.mkdtemp(prefix="spotchaos-forks-"))
    os.environ[SHARED_ENV] = f"{os.getpid()}:{directory}"
    return directory


def stop_shared(directory: Path) -> None:
    """Stop the shared server started in `directory` (if one was) and remove the directory."""
    if os.environ.get(SHARED_ENV, "").endswith(f":{directory}"):
        del os.environ[SHARED_ENV]
    pid = _shared_pid(directory)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        from cluster.waiting import WaitTimeout, wait_for

        try:
            wait_for(lambda: _shared_pid(directory) is None, 10, "the shared fork server to stop")
        except WaitTimeout:
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(directory, ignore_errors=True)
