"""Open-loop HTTP/1.1 load: requests leave at their scheduled times whatever the target does,
over keep-alive connections opened on demand (one request per connection at a time), with
responses parsed by httptools.  Latency runs from each request's scheduled send time, so a slow
target or a late generator both show up in the numbers (no coordinated omission); how late the
generator itself was is measured apart and reported, never hidden by lowering the rate."""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from array import array
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools
import numpy as np

from chaos.load.profile import Profile
from chaos.load.stats import (
    LATE_US,
    OK_CODE,
    OUTCOME_CODE,
    Outcome,
    Recorder,
    classify,
    server_header,
    warm_up,
)

SWEEP_INTERVAL = 0.05
clock = time.perf_counter  # uvloop's loop.time() only ticks in milliseconds
HORIZON = 0.001  # send what is due within this much: event-loop timers only wake to the millisecond
TICK_S = 0.001  # how early an event-loop timer may fire


class LoadError(Exception):
    """The run cannot start or go on; the message is one line for the user."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str
    host_header: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise LoadError(f"URL '{url}': only http:// is supported (the ALB listener the harness provisions is HTTP)")
        if not parts.hostname:
            raise LoadError(f"URL '{url}': no host; write e.g. http://127.200.0.1/v1/models/resnet:predict")
        port = parts.port or 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.hostname if port == 80 else f"{parts.hostname}:{port}"
        return cls(parts.hostname, port, path, host_header)


def request_bytes(target: Target, method: str, body: bytes | None, content_type: str = "application/json") -> bytes:
    lines = [f"{method} {target.path} HTTP/1.1", f"Host: {target.host_header}", "User-Agent: spotchaos-load/0.1", "Accept: */*"]
    if body is not None:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class _Conn(asyncio.Protocol):
    __slots__ = ("engine", "transport", "parser", "scheduled", "sent_at", "head")

    def __init__(self, engine: LoadEngine) -> None:
        self.engine = engine
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.scheduled: float | None = None
        self.sent_at = 0.0
        self.head: bytes | None = None  # first bytes of the current response (its headers)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.head is None:
            self.head = data
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass
        except httptools.HttpParserError:
            self.engine.failed(self, Outcome.OTHER)

    def on_message_complete(self) -> None:
        self.engine.completed(self, self.parser.get_status_code(), self.parser.should_keep_alive())

    def connection_lost(self, exc: Exception | None) -> None:
        self.engine.lost(self)


class LoadEngine:
    def __init__(self, target: Target, profile: Profile, request: bytes, *, timeout: float = 30.0, max_connections: int = 2000,
                 per_second_histograms: bool = False, share: tuple[int, int] = (0, 1), start_at: float | None = None,
                 source: str | None = None, bucket: float = 1.0) -> None:
        """`share` (k, n): this engine sends the k-th of every n scheduled requests (one of n worker
        processes); `start_at`: the clock() reading at which the schedule's t=0 falls (the same for
        every worker: CLOCK_MONOTONIC is one clock for every process of the machine); `source`: the
        local address its connections leave from (a load shard's pod IP)."""
        self.target = target
        self.local_addr = (source, 0) if source else None
        self.profile = profile
        self.share = share
        self.start_at = start_at
        self.request = request
        self.timeout = timeout
        self.max_connections = max_connections
        self.recorder = Recorder(per_second_histograms, bucket)
        warm_up()
        self.idle: list[_Conn] = []
        self.conns: set[_Conn] = set()
        self.inflight = 0
        self.pending: deque[float] = deque()
        self.connecting = 0
        self.dispatched = 0
        self.completed_count = 0
        self.lateness = array("q")  # microseconds the generator itself was late per request
        self.last_dispatch = 0.0
        self.t0 = 0.0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = False

    # ---- life cycle ------------------------------------------------------------------
    async def preflight(self, timeout: float = 3.0) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await asyncio.wait_for(loop.create_connection(asyncio.Protocol, self.target.host, self.target.port, local_addr=self.local_addr), timeout)
        except TimeoutError:
            raise LoadError(f"cannot reach {self.target.host}:{self.target.port}: no answer within {timeout:g}s") from None
        except OSError as exc:
            raise LoadError(f"cannot reach {self.target.host}:{self.target.port}: {exc.strerror or exc}") from None
        transport.close()

    async def _at(self, when: float) -> None:
        """Until `when` (clock()), to the event loop's millisecond (its timers may fire up to a tick early)."""
        assert self.loop is not None
        fut = self.loop.create_future()
        handle = self.loop.call_later(max(0.0, when - clock()), lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            handle.cancel()

    async def run(self) -> Recorder:
        loop = self.loop = asyncio.get_running_loop()
        await self._preconnect()
        # no cyclic-GC pauses while requests are timed (what a run allocates is freed by refcounting).
        # No collection first: in a run's process (Kubernetes models, the journal) a full one held
        # the event loop, and the threads that watch the cluster, for 0.2-0.5 s as traffic started,
        # which the run's health monitor rightly counted as a starved host; what is frozen now is
        # collected as usual once the load ends and unfreezes it
        gc_was_enabled = gc.isenabled()
        gc.freeze()
        gc.disable()
        if self.start_at is not None:
            await self._at(self.start_at)
        self.t0 = self.start_at if self.start_at is not None else clock()
        sweeper = loop.create_task(self._sweep())
        k, n = self.share
        times = self.profile.times() if n == 1 else itertools.islice(self.profile.times(), k, None, n)
        next_t = next(times, None)
        late = self.lateness.append
        sent_late = self.recorder.sent_late
        dispatch = self._dispatch
        t0 = self.t0
        try:
            while next_t is not None and not self.stopping:
                now = clock() - t0
                # a timer may wake up to a tick early: what is due within it goes now (its latency
                # counts from its actual send), never a re-armed wait for the fraction left, which
                # spun the loop (65 wake-ups a request at 400 req/s, a tenth of a core)
                horizon = now + HORIZON + TICK_S
                while next_t is not None and next_t <= horizon:
                    behind = int((now - next_t) * 1_000_000) if now > next_t else 0
                    late(behind)
                    if behind >= LATE_US:
                        sent_late(next_t, behind)
                    dispatch(next_t)
                    next_t = next(times, None)
                if next_t is not None:
                    await self._at(t0 + next_t - HORIZON)
            self.last_dispatch = clock() - t0
            deadline = clock() + self.timeout
            while (self.inflight or self.pending or self.connecting) and clock() < deadline:
                await self._at(clock() + SWEEP_INTERVAL)
        finally:
            if gc_was_enabled:
                gc.enable()
            gc.unfreeze()
            sweeper.cancel()
            for conn in list(self.conns):
                if conn.transport is not None:
                    conn.transport.close()
            self.recorder.flush()
        return self.recorder

    async def _preconnect(self) -> None:
        """Open the connections the first second will need before the clock starts (a rate/50
        guess), so that the run does not open with connection set-up artefacts."""
        peak = max((max(s.rate_start, s.rate_end) for s in self.profile.segments), default=0.0) / self.share[1]
        want = min(self.max_connections, int(peak / 50) + 2)
        loop = self.loop
        assert loop is not None
        results = await asyncio.gather(*(loop.create_connection(lambda: _Conn(self), self.target.host, self.target.port, local_addr=self.local_addr) for _ in range(want)), return_exceptions=True)
        for r in results:
            if isinstance(r, tuple):
                self.conns.add(r[1])
                self.idle.append(r[1])

    def stop(self) -> None:
        self.stopping = True

    # ---- hot path ----------------------------------------------------------------------
    def _dispatch(self, scheduled: float) -> None:
        self.dispatched += 1
        if self.idle:
            self._send(self.idle.pop(), scheduled)
            return
        self.pending.append(scheduled)
        if len(self.conns) + self.connecting < self.max_connections:
            self.connecting += 1
            self.loop.create_task(self._open())  # type: ignore[union-attr]

    def _send(self, conn: _Conn, scheduled: float) -> None:
        conn.scheduled = scheduled
        conn.sent_at = clock()
        self.inflight += 1
        conn.transport.write(self.request)  # type: ignore[union-attr]

    async def _open(self) -> None:
        loop = self.loop
        assert loop is not None
        try:
            _, conn = await loop.create_connection(lambda: _Conn(self), self.target.host, self.target.port, local_addr=self.local_addr)
        except OSError:
            self.connecting -= 1
            if self.pending:
                scheduled = self.pending.popleft()
                self.recorder.record(scheduled, clock() - self.t0 - scheduled, Outcome.CONNECTION)
                self.completed_count += 1
            return
        self.connecting -= 1
        self.conns.add(conn)
        self._ready(conn)

    def _ready(self, conn: _Conn) -> None:
        conn.head = None
        if self.pending:
            self._send(conn, self.pending.popleft())
        else:
            self.idle.append(conn)

    def completed(self, conn: _Conn, status: int, keep_alive: bool) -> None:
        scheduled = conn.scheduled
        if scheduled is None:
            return
        if status < 400:
            code = OK_CODE
        else:
            code = OUTCOME_CODE[classify(status, server_header(conn.head or b""))]
        self.recorder.record_code(scheduled, clock() - min(self.t0 + scheduled, conn.sent_at), code, status)
        self.completed_count += 1
        self.inflight -= 1
        conn.scheduled = None
        conn.head = None
        if keep_alive and not self.stopping:
            if self.pending:
                self._send(conn, self.pending.popleft())
            else:
                self.idle.append(conn)
        else:
            self.conns.discard(conn)
            conn.transport.close()  # type: ignore[union-attr]

    def failed(self, conn: _Conn, outcome: Outcome) -> None:
        """The request on `conn` ends without a response; latency still from its scheduled time
        (or its actual send, when that was early)."""
        if conn.scheduled is not None:
            self.recorder.record(conn.scheduled, clock() - min(self.t0 + conn.scheduled, conn.sent_at), outcome)
            self.completed_count += 1
            self.inflight -= 1
            conn.scheduled = None
        self.conns.discard(conn)
        if conn.transport is not None:
            conn.transport.abort()

    def lost(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        if conn.scheduled is not None:
            self.failed(conn, Outcome.CONNECTION)

    async def _sweep(self) -> None:
        loop = self.loop
        assert loop is not None
        while True:
            await self._at(clock() + SWEEP_INTERVAL)
            now = clock()
            for conn in [c for c in self.conns if c.scheduled is not None and now - c.sent_at > self.timeout]:
                self.failed(conn, Outcome.TIMEOUT)
            rel = now - self.t0
            while self.pending and rel - self.pending[0] > self.timeout:
                scheduled = self.pending.popleft()
                self.recorder.record(scheduled, rel - scheduled, Outcome.TIMEOUT)
                self.completed_count += 1

    # ---- what the run says about itself ------------------------------------------------------
    def generator_lateness_ms(self) -> dict[str, float]:
        return lateness_ms(self.lateness)


def lateness_ms(lateness: array) -> dict[str, float]:  # type: ignore[type-arg]
    """Percentiles of how late the generator sent (microseconds per request), in milliseconds."""
    if not lateness:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    arr = np.frombuffer(lateness, dtype=np.int64) / 1000.0
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p99": round(float(np.percentile(arr, 99)), 3), "max": round(float(arr.max()), 3)}
