"""The data plane's HTTP/1.1 (cluster/sim/wire) over real loopback sockets, without a simulator:
the server answers keep-alive and pipelined requests in order, HEAD without a body, `Expect:
100-continue`, garbage with a 400; shuts down the way a server on SIGTERM does and cuts every
connection the way a killed process does.  The upstream pool reuses connections, times out a
silent server, reports refusals, follows a `Dial`'s hop and cuts a cancelled request."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from cluster.sim.wire.client import Hop, UpstreamPool
from cluster.sim.wire.server import HttpServer, Reply, Request

pytestmark = pytest.mark.integration


async def read_until(reader: asyncio.StreamReader, count: int, marker: bytes = b"HTTP/1.1 ", timeout: float = 5) -> bytes:
    """Read until `count` occurrences of `marker` and the head of the last one ended."""
    data = b""
    async with asyncio.timeout(timeout):
        while data.count(marker) < count or not data.endswith(b"\r\n\r\n") and b"\r\n\r\n" not in data.rsplit(marker, 1)[1]:
            chunk = await reader.read(65536)
            if not chunk:
                break
            data += chunk
    return data


async def until(condition: Any, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def serve(handler: Any) -> tuple[HttpServer, int]:
    server = HttpServer(handler)
    port = await server.listen("127.0.0.1", 0)
    return server, port


async def test_keep_alive_and_pipelined_requests_are_answered_in_order() -> None:
    loop = asyncio.get_running_loop()

    def handler(req: Request, reply: Reply) -> None:
        delay = 0.2 if req.path == "/slow" else 0.0  # the first answer comes after the second request arrived
        loop.call_later(delay, reply, 200, req.path.encode(), ())

    server, port = await serve(handler)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    data = await read_until(reader, 2)
    while not data.endswith(b"/fast"):
        data += await asyncio.wait_for(reader.read(100), 5)
    assert data.index(b"/slow") < data.index(b"/fast")
    assert data.count(b"Content-Length: 5\r\n") == 2 and b"Connection: close" not in data
    writer.write(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection, still open
    assert (await read_until(reader, 1)).endswith(b"/again")
    assert len(server.connections) == 1
    writer.close()
    await server.shutdown(1)


async def test_head_has_no_body_and_100_continue_is_sent_before_the_body() -> None:
    def handler(req: Request, reply: Reply) -> None:
        reply(200, b"x" * 10 if req.method == "HEAD" else req.body, ((b"Content-Type", b"text/plain"),))

    server, port = await serve(handler)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await read_until(reader, 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 10\r\n" in head and head.endswith(b"\r\n\r\n")
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"ping")
    answer = await read_until(reader, 1)
    while not answer.endswith(b"ping"):
        answer += await asyncio.wait_for(reader.read(100), 5)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    writer.close()
    await server.shutdown(1)


async def test_garbage_gets_a_400_and_the_connection_closed() -> None:
    server, port = await serve(lambda req, reply: reply(200, b"", ()))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x16\x03\x01 not http\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 5)  # read() to the end: the server closed
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close" in data
    await server.shutdown(1)


async def test_shutdown_lets_busy_connections_answer_closes_idle_ones_and_stops_accepting() -> None:
    loop = asyncio.get_running_loop()
    server, port = await serve(lambda req, reply: loop.call_later(0.3, reply, 200, b"done", ()))
    busy_r, busy_w = await asyncio.open_connection("127.0.0.1", port)
    idle_r, idle_w = await asyncio.open_connection("127.0.0.1", port)
    idle_w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await read_until(idle_r, 1)
    await until(lambda: len(server.connections) == 2)
    busy_w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await until(lambda: any(c.busy for c in server.connections))  # the request reached the server
    stopping = loop.create_task(server.shutdown(5))
    assert await asyncio.wait_for(idle_r.read(), 5) == b""  # idle: closed at once
    answer = await asyncio.wait_for(busy_r.read(), 5)  # busy: answered, then closed
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"done") and b"Connection: close" in answer
    await asyncio.wait_for(stopping, 5)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_reset_all_cuts_every_connection_with_a_reset() -> None:
    server, port = await serve(lambda req, reply: None)  # never answers
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await until(lambda: any(c.busy for c in server.connections))
    server.stop_accepting()
    server.reset_all()
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(), 5)


class Caller:
    def __init__(self) -> None:
        self.heard: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def on_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.heard.set_result(("response", status, dict(headers), body))

    def on_failure(self, timed_out: bool) -> None:
        self.heard.set_result(("failure", timed_out))


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


async def test_the_pool_reuses_a_connection_and_reads_the_answer() -> None:
    server, port = await serve(lambda req, reply: reply(201, req.path.encode(), ((b"X-Seen", req.peer.encode()),)))
    pool = UpstreamPool(connect_timeout=2, idle_timeout=2)
    for path in ("/a", "/b", "/c"):
        caller = Caller()
        pool.request("127.0.0.1", port, get(path), caller)
        assert await asyncio.wait_for(caller.heard, 5) == ("response", 201, {b"Content-Length": b"2", b"X-Seen": b"127.0.0.1"}, path.encode())
    assert len(server.connections) == 1 and len(pool.conns) == 1
    pool.close()
    await server.shutdown(1)


async def test_a_silent_server_times_out_and_a_closed_port_is_refused() -> None:
    server, port = await serve(lambda req, reply: None)
    pool = UpstreamPool(connect_timeout=2, idle_timeout=0.3)
    caller = Caller()
    pool.request("127.0.0.1", port, get("/"), caller)
    assert await asyncio.wait_for(caller.heard, 5) == ("failure", True)
    await server.shutdown(1)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    caller = Caller()
    pool.request("127.0.0.1", free, get("/"), caller)
    assert await asyncio.wait_for(caller.heard, 5) == ("failure", False)
    pool.close()


async def test_a_dial_sends_the_connection_elsewhere_and_its_owner_can_cut_it() -> None:
    server, port = await serve(lambda req, reply: reply(200, b"pod", ()))
    joined: set[Any] = set()
    dialled: list[tuple[str, int]] = []

    def dial(host: str, p: int) -> Hop | None:
        dialled.append((host, p))
        if host == "127.9.9.9":
            raise ConnectionRefusedError("no ready endpoint")
        return Hop("127.0.0.1", port, joined)

    pool = UpstreamPool(connect_timeout=2, idle_timeout=2, dial=dial)
    caller = Caller()
    pool.request("127.8.8.8", 30080, get("/"), caller)  # nothing listens at 127.8.8.8: the hop goes to the server
    assert (await asyncio.wait_for(caller.heard, 5))[3] == b"pod"
    assert dialled == [("127.8.8.8", 30080)] and len(joined) == 1
    caller = Caller()
    pool.request("127.9.9.9", 30080, get("/"), caller)
    assert await asyncio.wait_for(caller.heard, 5) == ("failure", False)
    (conn,) = joined
    conn.transport.abort()  # the owner of the set cuts it (a node gone)
    await until(lambda: not joined)
    assert not pool.conns
    pool.close()
    await server.shutdown(1)


async def test_a_cancelled_call_is_never_answered_and_its_connection_is_cut() -> None:
    loop = asyncio.get_running_loop()
    answered = loop.create_future()

    def handler(req: Request, reply: Reply) -> None:
        def later() -> None:
            reply(200, b"late", ())
            answered.set_result(None)
        loop.call_later(0.3, later)

    server, port = await serve(handler)
    pool = UpstreamPool(connect_timeout=2, idle_timeout=5)
    caller = Caller()
    call = pool.request("127.0.0.1", port, get("/"), caller)
    await until(lambda: any(c.busy for c in server.connections))
    call.cancel()
    await until(lambda: not pool.conns)
    await asyncio.wait_for(answered, 5)  # the server has answered (into a cut connection)
    await asyncio.sleep(0)
    assert not caller.heard.done()
    pool.close()
    await server.shutdown(1)
