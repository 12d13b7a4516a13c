"""The ALB data plane: a real HTTP reverse proxy on the load balancer's own loopback address.

It routes by the listener's path rules, round robin over the target group's routable targets
(healthy ones; all unhealthy ones when none is healthy, as ALB fails open), never to initial or
draining targets.  Requests in flight to a draining target may finish until the deregistration
delay ends; then they are cut.  Errors are ALB's own: 502 when the target resets or refuses,
503 when the group has no routable target, 504 when the target does not connect within 10 s or
stays silent past the idle timeout, with ALB's HTML bodies and `Server: awselb/2.0`.
"""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass, field

import aiohttp
import structlog
from aiohttp import web
from aiohttp.web_server import Server

from cluster.sim.alb.runtime import AlbRuntime

log = structlog.get_logger("sim.alb.proxy")

REASONS = {404: "Not Found", 502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
HOP_HEADERS = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding", "upgrade", "content-length", "host"}


def error_page(status: int) -> web.Response:
    text = f"{status} {REASONS.get(status, '')}"
    body = f"<html>\r\n<head><title>{text}</title></head>\r\n<body>\r\n<center><h1>{text}</h1></center>\r\n</body>\r\n</html>\r\n"
    return web.Response(status=status, text=body, content_type="text/html", headers={"Server": "awselb/2.0"})


@dataclass(frozen=True)
class Route:
    """One listener rule: ALB path-pattern values (case-sensitive, * and ? wildcards)."""

    patterns: tuple[str, ...]
    target_group_arn: str

    def matches(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in self.patterns)


@dataclass
class Balancer:
    name: str
    arn: str
    address: str
    port: int = 0
    routes: list[Route] = field(default_factory=list)
    server: Server | None = None
    listener: asyncio.Server | None = None
    requests: int = 0


class AlbProxy:
    def __init__(self, runtime: AlbRuntime, connect_timeout: float, idle_timeout: float) -> None:
        self.runtime = runtime
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def open(self, lb: Balancer, wanted_port: int) -> None:
        lb.server = Server(lambda request: self.handle(lb, request), access_log=None)
        loop = asyncio.get_running_loop()
        try:
            lb.listener = await loop.create_server(lb.server, lb.address, wanted_port, reuse_address=True)
        except (PermissionError, OSError) as exc:
            if wanted_port == 0:
                raise
            log.warning("alb_port_unavailable", address=lb.address, port=wanted_port, error=str(exc), fallback="free port")
            lb.listener = await loop.create_server(lb.server, lb.address, 0, reuse_address=True)
        lb.port = lb.listener.sockets[0].getsockname()[1]

    async def close(self, lb: Balancer) -> None:
        if lb.listener is not None:
            lb.listener.close()
        if lb.server is not None:
            await lb.server.shutdown(timeout=1)

    async def handle(self, lb: Balancer, request: web.BaseRequest) -> web.StreamResponse:
        lb.requests += 1
        route = next((r for r in lb.routes if r.matches(request.path)), None)
        if route is None:
            return web.Response(status=404, text="", content_type="text/plain", headers={"Server": "awselb/2.0"})
        group = self.runtime.groups.get(route.target_group_arn)
        target = group.pick() if group is not None else None
        if group is None or target is None:
            return error_page(503)
        url = self.runtime.target_url(group, target, request.path_qs)
        if url is None:
            return error_page(502)
        body = await request.read()
        task = asyncio.get_running_loop().create_task(self._forward(url, request, body))
        key = (target.target_id, target.port)
        group.inflight.setdefault(key, set()).add(task)
        try:
            await asyncio.wait({task})
        finally:
            group.inflight.get(key, set()).discard(task)
        if task.cancelled():
            return error_page(502)  # cut when the deregistration delay ended
        return task.result()

    async def _forward(self, url: str, request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        peer = request.remote or ""
        headers["X-Forwarded-For"] = f"{headers['X-Forwarded-For']}, {peer}" if "X-Forwarded-For" in headers else peer
        headers["X-Forwarded-Proto"] = "http"
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout, sock_read=self.idle_timeout)
        try:
            async with self.session().request(request.method, url, data=body or None, headers=headers, timeout=timeout, allow_redirects=False) as resp:
                payload = await resp.read()
                out_headers = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_HEADERS}
                return web.Response(status=resp.status, body=payload, headers=out_headers)
        except (aiohttp.ConnectionTimeoutError, aiohttp.SocketTimeoutError, TimeoutError):
            return error_page(504)
        except (aiohttp.ClientError, OSError):
            return error_page(502)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def path_patterns(path: str, path_type: str) -> tuple[str, ...]:
    """How the Load Balancer Controller turns an Ingress path into ALB path-pattern values."""
    if path_type == "Exact":
        return (path,)
    if path_type == "Prefix":
        base = path.rstrip("/")
        return ("/*",) if not base else (base, base + "/*")
    return (path or "/*",)

