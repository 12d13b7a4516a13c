"""The simulator raises its open-files limit at start (cluster/sim/fd_limit.py): 50,000 serving pods
are 50,000 listening sockets.  Run in a child process started with a low soft limit, so that the
test's own process keeps its limits."""

from __future__ import annotations

import resource
import subprocess
import sys


def test_the_soft_limit_is_raised_towards_the_hard_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "from cluster.sim.fd_limit import raise_open_files\n"
        f"print(raise_open_files({want}), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1].split()
    assert int(out[0]) == int(out[1]) >= want  # never lowered, raised to what was asked when the hard limit allows


def test_a_listener_that_binds_nothing_says_why():
    """uvloop answers EMFILE with a server holding no socket: the pod's start fails naming it."""
    import asyncio

    import pytest

    from cluster.sim.wire.server import HttpServer

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        real = loop.create_server

        async def no_sockets(*args, **kwargs):  # stands in for a loop out of file descriptors
            server = await real(*args, **kwargs)
            server.close()
            await server.wait_closed()
            return server

        loop.create_server = no_sockets  # type: ignore[method-assign]
        with pytest.raises(OSError, match="open files"):
            await HttpServer(lambda *a: None).listen("127.0.0.1", 0)  # type: ignore[arg-type,return-value]

    asyncio.run(scenario())
