"""Keep-alive HTTP/1.1 connections to upstream servers (the ALB's side towards its targets),
one request at a time per connection, responses parsed by httptools.

A request either reuses an idle connection to its (host, port) or opens one (the only place a
task is made).  Its caller hears back once: `on_response`, or `on_failure` with whether it timed
out (no connection within `connect_timeout`, or `idle_timeout` without a byte from the server, to
a quarter of the timeout) or was refused or reset.  A `Dial` may say where a connection to (host, port) really goes (a node
port's kube-proxy choosing a pod for each connection, docs/simulator.md) and which set of
connections it joins while open, so that whoever owns that set can cut it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httptools

from cluster.sim.net import reset


class Caller(Protocol):
    def on_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None: ...

    def on_failure(self, timed_out: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class Hop:
    """Where a connection to an address really goes, and the set it joins while open."""

    host: str
    port: int
    conns: set[Any] | None = None


Dial = Callable[[str, int], Hop | None]  # None: straight to (host, port); raises ConnectionRefusedError


class Call:
    """One request on its way; `cancel` drops it without a word to its caller."""

    __slots__ = ("pool", "key", "payload", "caller", "conn", "over")

    def __init__(self, pool: UpstreamPool, key: tuple[str, int], payload: bytes, caller: Caller) -> None:
        self.pool = pool
        self.key = key
        self.payload = payload
        self.caller = caller
        self.conn: _Upstream | None = None
        self.over = False

    def cancel(self) -> None:
        """Stop waiting; a connection carrying it is cut (its answer would come too late)."""
        if self.over:
            return
        self._end()
        if self.conn is not None:
            reset(self.conn.transport)

    def _end(self) -> None:
        self.over = True
        if self.conn is not None:
            self.pool.busy.discard(self.conn)

    def _fail(self, timed_out: bool) -> None:
        if not self.over:
            self._end()
            self.caller.on_failure(timed_out)


class _Upstream(asyncio.Protocol):
    __slots__ = ("pool", "key", "conns", "transport", "parser", "call", "last_read", "_headers", "_body")

    def __init__(self, pool: UpstreamPool, key: tuple[str, int], conns: set[Any] | None) -> None:
        self.pool = pool
        self.key = key
        self.conns = conns
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.call: Call | None = None
        self.last_read = 0.0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.pool.conns.add(self)
        if self.conns is not None:
            self.conns.add(self)

    def send(self, call: Call) -> None:
        assert self.transport is not None
        self.call = call
        call.conn = self
        self.last_read = self.pool.loop.time()
        self.pool._busy(self)
        self.transport.write(call.payload)

    def data_received(self, data: bytes) -> None:
        self.last_read = self.pool.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            call, self.call = self.call, None
            if call is not None:
                call._fail(timed_out=False)
            reset(self.transport)

    def on_message_begin(self) -> None:
        self._headers = []
        self._body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        call, self.call = self.call, None
        keep = self.parser.should_keep_alive()
        if keep and self.transport is not None and not self.transport.is_closing():
            self.pool._idle(self)
        elif self.transport is not None:
            self.transport.close()
        if call is not None and not call.over:
            call._end()
            call.caller.on_response(self.parser.get_status_code(), self._headers, b"".join(self._body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool._forget(self)
        self.pool.busy.discard(self)
        if self.conns is not None:
            self.conns.discard(self)
        call, self.call = self.call, None
        if call is not None:
            call._fail(timed_out=False)


class UpstreamPool:
    def __init__(self, connect_timeout: float, idle_timeout: float, dial: Dial | None = None) -> None:
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.dial = dial
        self.idle: dict[tuple[str, int], list[_Upstream]] = {}
        self.conns: set[_Upstream] = set()
        self.busy: set[_Upstream] = set()  # carrying a request: watched for the idle timeout
        self.connecting: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def request(self, host: str, port: int, payload: bytes, caller: Caller) -> Call:
        key = (host, port)
        call = Call(self, key, payload, caller)
        idle = self.idle.get(key)
        if idle:
            idle.pop().send(call)
        else:
            task = self.loop.create_task(self._connect(call))
            self.connecting.add(task)
            task.add_done_callback(self.connecting.discard)
        return call

    async def _connect(self, call: Call) -> None:
        host, port = call.key
        try:
            hop = self.dial(host, port) if self.dial is not None else None
            to = (hop.host, hop.port) if hop is not None else call.key
            _, conn = await asyncio.wait_for(
                self.loop.create_connection(lambda: _Upstream(self, call.key, hop.conns if hop else None), *to), self.connect_timeout)
        except TimeoutError:
            call._fail(timed_out=True)
            return
        except OSError:
            call._fail(timed_out=False)
            return
        if call.over:
            self._idle(conn)
        else:
            conn.send(call)

    def _busy(self, conn: _Upstream) -> None:
        self.busy.add(conn)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self._sweep_every(), self._sweep)

    def _sweep_every(self) -> float:
        return min(1.0, self.idle_timeout / 4)

    def _sweep(self) -> None:
        """Every connection silent for the idle timeout while its request waits: a timeout (one
        look every quarter of the timeout, at most a second apart, instead of a timer a request)."""
        self._sweeper = None
        now = self.loop.time()
        for conn in [c for c in self.busy if now - c.last_read >= self.idle_timeout]:
            call, conn.call = conn.call, None
            self.busy.discard(conn)
            if call is not None:
                call._fail(timed_out=True)
            reset(conn.transport)
        if self.busy:
            self._sweeper = self.loop.call_later(self._sweep_every(), self._sweep)

    def _idle(self, conn: _Upstream) -> None:
        self.idle.setdefault(conn.key, []).append(conn)

    def _forget(self, conn: _Upstream) -> None:
        self.conns.discard(conn)
        idle = self.idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for task in list(self.connecting):
            task.cancel()
        for conn in list(self.conns):
            reset(conn.transport)
        self.idle.clear()
