"""Simulators forked from one process that imported the simulator once (`spotchaos sim forkserver`,
chaos/cli/sim_forkserver.py), for a session that starts many: the pytest plugin starts one per
experiment, and each start through `python -m chaos.cli sim up` costs about two CPU seconds of
imports before it serves anything.  On a 2-core machine running three experiments side by side,
those seconds are CPU the running experiments' simulators and load generators did not get.

`ForkServer.spawn` answers a `ForkedSimulator`: a handle with what the run asks of a
`subprocess.Popen` (pid, poll, wait, send_signal, kill), through a pidfd, since the simulator
is the fork server's child, not ours."""

from __future__ import annotations

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

START_TIMEOUT = 60.0


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
    """A `spotchaos sim forkserver` process, started on first use, stopped by `close`."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The fork server's pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def _socket(self) -> Path:
        assert self._dir is not None
        return self._dir / "sock"

    def start_soon(self) -> None:
        """Start the server without waiting for it (it imports the simulator meanwhile); the first
        `spawn` waits for it to listen."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self._dir = Path(tempfile.mkdtemp(prefix="spotchaos-forks-"))  # short: a Unix socket's path is at most 107 bytes
        with (self._dir / "forkserver.log").open("ab") as log:
            self._proc = subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", "forkserver", str(self._socket), "--exit-with", str(os.getpid())],
                                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def _start(self) -> None:
        if self._proc is not None and self._proc.poll() is None and self._socket.exists():
            return
        self.start_soon()
        proc = self._proc
        assert proc is not None
        from cluster.waiting import WaitTimeout, wait_for

        try:
            wait_for(lambda: proc.poll() is not None or self._socket.exists(), START_TIMEOUT, "the simulator fork server")
        except WaitTimeout:
            proc.kill()
            raise ForkServerError(f"the simulator fork server did not start within {START_TIMEOUT:g}s") from None
        if proc.poll() is not None:
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
        self._start()
        answer = self._ask({"spawn": {"argv": argv, "log": str(log_path.resolve()), "cwd": os.getcwd(), "env": env}})
        pid = answer.get("pid")
        if not isinstance(pid, int) or pid <= 1:
            raise ForkServerError(f"the simulator fork server answered no pid: {answer}")
        return ForkedSimulator(pid, self)

    def returncode(self, pid: int) -> int | None:
        code = self._ask({"status": pid}).get("returncode")
        return code if isinstance(code, int) else None

    def close(self) -> None:
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
