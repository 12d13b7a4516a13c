"""An HTTP/1.1 server as one asyncio protocol per connection, parsed by httptools.

The handler is called with each whole request and a `reply` callback it calls once, now or later
(a pod after its service time, the ALB when its target answers): no task and no stream object per
request.  Keep-alive and pipelined requests are answered in order, one at a time per connection,
as HTTP/1.1 requires.  `shutdown` is what a server does on SIGTERM (stop accepting, close idle
connections, let the busy ones answer, then cut what is left); `reset_all` is a killed process."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus

import httptools

from cluster.sim.net import reset

Headers = Sequence[tuple[bytes, bytes]]
Reply = Callable[[int, bytes, Headers], None]


@dataclass(slots=True)
class Request:
    method: str
    path: str  # path and query, as sent
    headers: list[tuple[bytes, bytes]]  # names lower-cased
    body: bytes
    peer: str

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)


Handler = Callable[[Request, Reply], None]

_STATUS_LINES: dict[int, bytes] = {}


def status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode()
    return line


def response_bytes(status: int, body: bytes, headers: Headers, *, keep_alive: bool, head_only: bool = False) -> bytes:
    parts = [status_line(status)]
    parts += [b"%s: %s\r\n" % kv for kv in headers]
    parts.append(b"Content-Length: %d\r\n" % len(body))
    if not keep_alive:
        parts.append(b"Connection: close\r\n")
    parts.append(b"\r\n")
    if not head_only:
        parts.append(body)
    return b"".join(parts)


class HttpServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections: set[_ServerConn] = set()
        self.listener: asyncio.Server | None = None
        self.closing = False
        self._emptied: asyncio.Future[None] | None = None

    async def listen(self, host: str, port: int) -> int:
        """Start accepting on host:port (0: any free port); the bound port."""
        loop = asyncio.get_running_loop()
        self.listener = await loop.create_server(lambda: _ServerConn(self), host, port, reuse_address=True)
        if not self.listener.sockets:  # the event loop bound nothing (out of open files: cluster/sim/fd_limit.py)
            self.listener.close()
            raise OSError(f"no socket could be bound on {host}:{port}: the simulator may be out of open files (ulimit -n)")
        return int(self.listener.sockets[0].getsockname()[1])

    def stop_accepting(self) -> None:
        if self.listener is not None:
            self.listener.close()

    async def shutdown(self, timeout: float) -> None:
        """Stop accepting, close idle connections, give busy ones `timeout` seconds to answer,
        then cut the rest."""
        self.closing = True
        self.stop_accepting()
        for conn in list(self.connections):
            if not conn.busy:
                conn.close()
        if self.connections:
            self._emptied = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._emptied), timeout)
            except TimeoutError:
                pass
        self.reset_all()

    def reset_all(self) -> None:
        """Every connection cut with RST (the process is gone)."""
        self.closing = True
        for conn in list(self.connections):
            reset(conn.transport)

    def _lost(self, conn: _ServerConn) -> None:
        self.connections.discard(conn)
        if not self.connections and self._emptied is not None and not self._emptied.done():
            self._emptied.set_result(None)


class _ServerConn(asyncio.Protocol):
    __slots__ = ("server", "transport", "parser", "peer", "busy", "queue", "n", "_url", "_headers", "_body", "_eof")

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.peer = ""
        self.busy = False
        self.queue: deque[tuple[Request, bool]] = deque()
        self.n = 0  # requests answered or being answered on this connection
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._eof = False

    # ---- asyncio -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else ""
        self.server.connections.add(self)
        if self.server.closing:
            reset(transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # answered as plain HTTP/1.1: nothing here speaks another protocol
        except httptools.HttpParserError:
            self._bad_request()

    def eof_received(self) -> bool:
        self._eof = True
        if not self.busy:
            return False  # close
        return True  # answer what is in flight, then close

    def connection_lost(self, exc: Exception | None) -> None:
        self.queue.clear()
        self.server._lost(self)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # ---- httptools -----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        if self.transport is not None and (b"expect", b"100-continue") in ((k, v.lower()) for k, v in self._headers):
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        request = Request(self.parser.get_method().decode(), self._url.decode("latin-1"), self._headers, b"".join(self._body), self.peer)
        keep = self.parser.should_keep_alive()
        if self.busy:
            self.queue.append((request, keep))
        else:
            self._dispatch(request, keep)

    # ---- answering -----------------------------------------------------------------------
    def _dispatch(self, request: Request, keep: bool) -> None:
        self.busy = True
        self.n += 1
        n = self.n
        head_only = request.method == "HEAD"

        def reply(status: int, body: bytes, headers: Headers = ()) -> None:
            self._answer(n, status, body, headers, keep, head_only)

        self.server.handler(request, reply)

    def _answer(self, n: int, status: int, body: bytes, headers: Headers, keep: bool, head_only: bool) -> None:
        transport = self.transport
        if n != self.n or not self.busy or transport is None or transport.is_closing():
            return  # answered already, or the connection is gone
        keep = keep and not self._eof and not self.server.closing
        transport.write(response_bytes(status, body, headers, keep_alive=keep, head_only=head_only))
        self.busy = False
        if not keep:
            transport.close()
        elif self.queue:
            self._dispatch(*self.queue.popleft())

    def _bad_request(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response_bytes(400, b"", (), keep_alive=False))
            self.transport.close()
