"""`pods/portforward`: a pod's port reached through the API server, as kubectl port-forward and
the kubernetes client use it.  The simulated pods that listen (TF Serving) listen on their pod
IP, so the forward is a real TCP connection to it; a port nothing listens on answers on the
request's error stream, as the kubelet does.

Two ways in, both over a WebSocket upgrade of GET .../pods/NAME/portforward:
- `SPDY/3.1+portforward.k8s.io` (kubectl 1.31 and later, its default): SPDY/3.1 tunneled through
  the WebSocket's binary messages (client-go tools/portforward tunneling_dialer.go and
  tunneling_connection.go; apiserver util/proxy/streamtunnel.go).  Per local connection kubectl
  opens an error stream and a data stream with the headers `streamtype`, `port`, `requestid`,
  waits for each SYN_REPLY, closes its side of the error stream and reads it to EOF after the
  data stream ends (client-go portforward.go handleConnection).  The server side follows the
  kubelet (kubelet/cri/streaming/portforward/httpstream.go): both streams of a request id make
  a pair; the pair dials the pod's port; the copy ends, then both streams close; a failure is
  written to the error stream first.
- `v4.channel.k8s.io` (the kubernetes Python client's `portforward`): the ports in `?ports=`;
  per port a data channel 2i and an error channel 2i+1, each opened by a message carrying the
  port (2 bytes, little-endian), then messages prefixed by their channel byte
  (kubelet/cri/streaming/portforward/websocket.go).

The plain SPDY upgrade (kubectl before 1.31, or KUBECTL_PORT_FORWARD_WEBSOCKETS=false) is not
served: it answers a 400 saying so (docs/simulator.md)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from cluster.sim.kube import spdy_frames as spdy
from cluster.sim.kube.errors import BadRequest

log = structlog.get_logger("sim.kube.portforward")

SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
CHANNELS = "v4.channel.k8s.io"
READ_SIZE = 32 * 1024


def refusal(pod: str, port: int, ip: str) -> str:
    """The error-stream message for a port nothing listens on (the kubelet's wording, shortened)."""
    return (f"error forwarding port {port} to pod {pod}: failed to connect to localhost:{port} inside namespace of the pod, "
            f"IPv4: dial tcp4 {ip}:{port}: connect: connection refused")


@dataclass
class _Pair:
    """One forwarded connection: kubectl's error and data streams of one request id."""

    port: int
    error_id: int | None = None
    data_id: int | None = None
    inbound: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)  # from the client; None: it closed its side
    task: asyncio.Task[None] | None = None
    data_reset: bool = False


@dataclass
class SpdyTunnel:
    """The server side of one kubectl port-forward session."""

    pod: str
    ip: str
    send_raw: Callable[[bytes], Awaitable[None]]
    codec: spdy.HeaderCodec = field(default_factory=spdy.HeaderCodec)
    buffer: bytearray = field(default_factory=bytearray)
    pairs: dict[str, _Pair] = field(default_factory=dict)
    by_stream: dict[int, str] = field(default_factory=dict)
    send_turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # frames leave in the order their headers were compressed

    async def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        for frame in spdy.split_frames(self.buffer):
            if isinstance(frame, spdy.DataFrame):
                self._data(frame)
            elif frame.type == spdy.FrameType.SYN_STREAM:
                await self._syn_stream(spdy.syn_stream(frame, self.codec))
            elif frame.type == spdy.FrameType.RST_STREAM:
                self._reset(spdy.stream_of(frame))
            elif frame.type == spdy.FrameType.PING:
                await self._send(spdy.ping_reply(frame))
            elif frame.type == spdy.FrameType.GOAWAY:
                self.close()
            elif frame.type == spdy.FrameType.HEADERS:
                self.codec.decode(frame.payload[4:])  # keeps the compression context in step; nothing to act on

    async def _send(self, frame: bytes | Callable[[], bytes]) -> None:
        async with self.send_turn:
            await self.send_raw(frame() if callable(frame) else frame)

    async def _syn_stream(self, syn: spdy.SynStream) -> None:
        kind, request = syn.headers.get("streamtype"), syn.headers.get("requestid", "")
        try:
            port = int(syn.headers.get("port", ""))
        except ValueError:
            port = 0
        if kind not in ("error", "data") or not 0 < port < 65536:
            await self._send(spdy.rst_stream(syn.stream_id, 1))  # PROTOCOL_ERROR: not a port-forward stream
            return
        await self._send(lambda: spdy.syn_reply(syn.stream_id, self.codec))
        pair = self.pairs.setdefault(request, _Pair(port))
        self.by_stream[syn.stream_id] = request
        if kind == "error":
            pair.error_id = syn.stream_id
        else:
            pair.data_id = syn.stream_id
        if pair.error_id is not None and pair.data_id is not None and pair.task is None:
            pair.task = asyncio.create_task(self._forward(request, pair))

    def _data(self, frame: spdy.DataFrame) -> None:
        pair = self.pairs.get(self.by_stream.get(frame.stream_id, ""))
        if pair is None or frame.stream_id != pair.data_id:
            return  # the error stream carries nothing from the client but its FIN
        if frame.data:
            pair.inbound.put_nowait(frame.data)
        if frame.fin:
            pair.inbound.put_nowait(None)

    def _reset(self, stream_id: int) -> None:
        pair = self.pairs.get(self.by_stream.get(stream_id, ""))
        if pair is not None and stream_id == pair.data_id:
            pair.data_reset = True
            pair.inbound.put_nowait(None)
            if pair.task is not None:
                pair.task.cancel()

    async def _forward(self, request: str, pair: _Pair) -> None:
        assert pair.error_id is not None and pair.data_id is not None
        error = ""
        try:
            try:
                reader, writer = await asyncio.open_connection(self.ip, pair.port)
            except OSError:
                error = refusal(self.pod, pair.port, self.ip)
                return
            log.info("portforward_open", pod=self.pod, port=pair.port, request=request)
            upstream = asyncio.create_task(self._upstream(pair, writer))
            try:
                while chunk := await reader.read(READ_SIZE):
                    await self._send(spdy.data(pair.data_id, chunk))
            except OSError as exc:
                error = f"error forwarding port {pair.port} to pod {self.pod}: {exc}"
            finally:
                upstream.cancel()
                writer.close()
        except asyncio.CancelledError:
            pass  # the client reset the data stream: it is done with this connection
        finally:
            with contextlib.suppress(ConnectionError, RuntimeError):
                if error:
                    await self._send(spdy.data(pair.error_id, error.encode()))
                if not pair.data_reset:
                    await self._send(spdy.data(pair.data_id, b"", fin=True))
                await self._send(spdy.data(pair.error_id, b"", fin=True))
            self.pairs.pop(request, None)

    async def _upstream(self, pair: _Pair, writer: asyncio.StreamWriter) -> None:
        """What the client sends on the data stream, to the pod's port; its FIN half-closes it."""
        with contextlib.suppress(OSError):
            while (chunk := await pair.inbound.get()) is not None:
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

    def close(self) -> None:
        for pair in self.pairs.values():
            if pair.task is not None:
                pair.task.cancel()


async def _channels(ws: web.WebSocketResponse, pod: str, ip: str, ports: list[int]) -> None:
    """The channel protocol: every port dialled at once, its data on channel 2i, its error on 2i+1."""
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = []
    for i, port in enumerate(ports):
        await ws.send_bytes(bytes([2 * i]) + struct.pack("<H", port))
        await ws.send_bytes(bytes([2 * i + 1]) + struct.pack("<H", port))
        try:
            connections.append(await asyncio.open_connection(ip, port))
        except OSError:
            connections.append(None)
            await ws.send_bytes(bytes([2 * i + 1]) + refusal(pod, port, ip).encode())

    async def pump(i: int, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while chunk := await reader.read(READ_SIZE):
                await ws.send_bytes(bytes([2 * i]) + chunk)

    async def inbound() -> None:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, payload = msg.data[0], msg.data[1:]
            conn = connections[channel // 2] if channel % 2 == 0 and channel // 2 < len(connections) else None
            if conn is not None and payload:
                conn[1].write(payload)
                await conn[1].drain()

    # as the kubelet: the session ends when every port's connection has ended, or the client hangs up
    pumps = [asyncio.create_task(pump(i, c[0])) for i, c in enumerate(connections) if c is not None]
    reading = asyncio.create_task(inbound())
    try:
        await asyncio.wait([reading, asyncio.gather(*pumps)] if pumps else [reading], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [*pumps, reading]:
            task.cancel()
        for c in connections:
            if c is not None:
                c[1].close()
        await ws.close()


async def serve(request: web.Request, pod: dict[str, Any]) -> web.StreamResponse:
    """Upgrade GET .../portforward to a WebSocket and forward until the client hangs up."""
    name = f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"
    ip = pod.get("status", {}).get("podIP")
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise BadRequest("the simulator serves port-forward over a WebSocket upgrade only (kubectl 1.31 or later, the kubernetes "
                         "client's portforward); kubectl's older plain SPDY upgrade is not served: unset "
                         "KUBECTL_PORT_FORWARD_WEBSOCKETS=false, or use kubectl 1.31+")
    if not pod["spec"].get("nodeName"):
        raise BadRequest(f"pod {pod['metadata']['name']} does not have a host assigned")
    if pod.get("status", {}).get("phase") != "Running" or not ip:
        raise BadRequest(f"unable to forward port because pod is not running. Current status={pod.get('status', {}).get('phase')}")
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if CHANNELS in offered and SPDY_TUNNEL not in offered:
        try:
            ports = [int(p) for p in request.query.getall("ports", []) for p in p.split(",")]
        except ValueError as exc:
            raise BadRequest("ports must be port numbers: ?ports=8501") from exc
        if not ports:
            raise BadRequest("query parameter \"ports\" is required: ?ports=8501")
        ws = web.WebSocketResponse(protocols=(CHANNELS,))
        await ws.prepare(request)
        await _channels(ws, name, ip, ports)
        return ws
    ws = web.WebSocketResponse(protocols=(SPDY_TUNNEL,), autoping=True)
    await ws.prepare(request)
    if ws.ws_protocol != SPDY_TUNNEL:
        await ws.close(message=f"no sub-protocol this server speaks: offer {SPDY_TUNNEL} or {CHANNELS}".encode())
        return ws
    tunnel = SpdyTunnel(name, ip, ws.send_bytes)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                try:
                    await tunnel.feed(msg.data)
                except spdy.ProtocolError as exc:
                    log.warning("portforward_protocol_error", pod=name, error=str(exc))
                    break
    finally:
        tunnel.close()
    return ws
