"""`spotchaos sim forkserver SOCKET` (hidden): one process that has imported the simulator once and
forks a `sim up` per request, for a session that starts many simulators (the pytest plugin starts
one per experiment).  Importing the simulator costs about two CPU seconds (moto's EC2 models above
all) and the same again in memory per process; a fork costs milliseconds and shares those pages.

Each child is `spotchaos sim up ARGS` as the requester would have started it: its own session, its
output appended to the requested log, the requester's environment and working directory.  The
server reaps its children and answers who exited with what.  It forks only from its one thread
(forking without exec is safe only from a single-threaded process), and it stops when the process
it serves exits, as the simulators it forked do (`--exit-with`).

Protocol, one JSON line each way per connection on a Unix socket:
  {"spawn": {"argv": [...], "log": PATH, "cwd": DIR, "env": {...}}} -> {"pid": N}
  {"status": PID} -> {"returncode": N or null (running, or not one of ours)}"""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import setproctitle

ACCEPT_TICK = 1.0  # seconds between looks at whether the served process still runs


class _Children:
    """Exit codes of the children, collected on SIGCHLD (a child gone is never left a zombie)."""

    def __init__(self) -> None:
        self.codes: dict[int, int] = {}

    def reap(self, *_: object) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.codes[pid] = os.waitstatus_to_exitcode(status)


def serve(path: Path, serving: int, run_child: Callable[[list[str]], int]) -> None:
    """Answer requests on `path` until process `serving` exits (or SIGTERM)."""
    gc.collect()
    gc.freeze()  # what was imported stays out of the collector's reach: children do not copy it by touching it
    children = _Children()
    signal.signal(signal.SIGCHLD, children.reap)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    bound = path.with_name(path.name + ".bind")  # bound and listening there, then renamed: the path appears ready, never refusing
    bound.unlink(missing_ok=True)
    listener.bind(str(bound))
    listener.listen(16)
    os.rename(bound, path)
    listener.settimeout(ACCEPT_TICK)
    while _alive(serving):
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            conn.settimeout(10)
            try:
                request = json.loads(conn.makefile("rb").readline() or b"{}")
            except (OSError, ValueError):
                continue
            if "spawn" in request:
                pid = os.fork()
                if pid == 0:
                    _child(listener, conn, request["spawn"], run_child)
                answer: dict[str, Any] = {"pid": pid}
            else:
                children.reap()
                answer = {"returncode": children.codes.get(int(request.get("status", 0)))}
            try:
                conn.sendall(json.dumps(answer).encode() + b"\n")
            except OSError:
                pass
    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _child(listener: socket.socket, conn: socket.socket, spawn: dict[str, Any], run_child: Callable[[list[str]], int]) -> None:
    """In the forked child: become the requested `sim up`, then exit with its code (never returns)."""
    code = 1
    try:
        listener.close()
        conn.close()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()
        log = os.open(spawn["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True, write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, write_through=True)
        # seen by ps and pgrep -f as the `sim up` it is, not as another fork server (before the
        # environment is replaced: setproctitle finds the room for the title beside the process's first one)
        setproctitle.setproctitle(" ".join([sys.executable, "-m", "chaos.cli", "sim", *spawn["argv"]]))
        os.chdir(spawn["cwd"])
        os.environ.clear()
        os.environ.update(spawn["env"])
        code = run_child(list(spawn["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child's last word goes to its log
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
