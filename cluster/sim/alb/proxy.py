"""The ALB data plane: a real HTTP reverse proxy on the load balancer's own loopback address.

It routes by the listener's path rules, round robin over the target group's routable targets
(healthy ones; all unhealthy ones when none is healthy, as ALB fails open), never to initial or
draining targets.  Requests in flight to a draining target may finish until the deregistration
delay ends; then they are cut.  Errors are ALB's own: 502 when the target resets or refuses,
503 when the group has no routable target, 504 when the target does not connect within 10 s or
stays silent past the idle timeout, with ALB's HTML bodies and `Server: awselb/2.0`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

import structlog

from cluster.sim.alb.runtime import AlbRuntime, GroupRuntime
from cluster.sim.wire.client import Call, Dial, UpstreamPool
from cluster.sim.wire.server import Headers, HttpServer, Reply, Request

log = structlog.get_logger("sim.alb.proxy")

REASONS = {404: "Not Found", 502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
HOP_HEADERS = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailers", b"transfer-encoding", b"upgrade",
               b"content-length", b"date"}
SERVER = (b"Server", b"awselb/2.0")
_PAGES: dict[int, bytes] = {}


def error_page(status: int) -> tuple[int, bytes, Headers]:
    """ALB's own answer: its HTML body and `Server: awselb/2.0`."""
    body = _PAGES.get(status)
    if body is None:
        text = f"{status} {REASONS.get(status, '')}"
        body = _PAGES[status] = f"<html>\r\n<head><title>{text}</title></head>\r\n<body>\r\n<center><h1>{text}</h1></center>\r\n</body>\r\n</html>\r\n".encode()
    return status, body, ((b"Content-Type", b"text/html"), SERVER)


@dataclass(frozen=True)
class Route:
    """One listener rule: ALB path-pattern values (case-sensitive, * and ? wildcards)."""

    patterns: tuple[str, ...]
    target_group_arn: str
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in self.patterns) or "(?!)"))

    def matches(self, path: str) -> bool:
        return self.regex.match(path) is not None


@dataclass
class Balancer:
    name: str
    arn: str
    address: str
    port: int = 0
    routes: list[Route] = field(default_factory=list)
    server: HttpServer | None = None
    listener: Any = None  # the listening socket once open
    requests: int = 0


def upstream_request(request: Request, path: str) -> bytes:
    """The request as the ALB sends it on: hop-by-hop headers dropped, the client's address
    appended to X-Forwarded-For, X-Forwarded-Proto set, the body with its length."""
    lines = [f"{request.method} {path} HTTP/1.1\r\n".encode()]
    forwarded_for = request.peer.encode()
    for name, value in request.headers:
        if name == b"x-forwarded-for":
            forwarded_for = value + b", " + forwarded_for
        elif name not in HOP_HEADERS and name != b"x-forwarded-proto":
            lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"x-forwarded-for: %s\r\nx-forwarded-proto: http\r\n" % forwarded_for)
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(b"content-length: %d\r\n" % len(request.body))
    lines.append(b"\r\n")
    lines.append(request.body)
    return b"".join(lines)


class _Forward:
    """One request in flight to a target; in the group's in-flight set until it ends, so that
    the end of a deregistration delay can cut it (`cancel`: a 502)."""

    __slots__ = ("reply", "inflight", "call")

    def __init__(self, reply: Reply, inflight: set[Any]) -> None:
        self.reply = reply
        self.inflight = inflight
        self.call: Call | None = None
        inflight.add(self)

    def on_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.inflight.discard(self)
        self.reply(status, body, [(k, v) for k, v in headers if k.lower() not in HOP_HEADERS])

    def on_failure(self, timed_out: bool) -> None:
        self.inflight.discard(self)
        self.reply(*error_page(504 if timed_out else 502))

    def cancel(self) -> None:
        if self.call is not None and not self.call.over:
            self.call.cancel()
            self.on_failure(timed_out=False)


class AlbProxy:
    def __init__(self, runtime: AlbRuntime, connect_timeout: float, idle_timeout: float, dial: Dial | None = None) -> None:
        self.runtime = runtime
        self.upstream = UpstreamPool(connect_timeout, idle_timeout, dial)

    async def open(self, lb: Balancer, wanted_port: int) -> None:
        lb.server = HttpServer(lambda request, reply: self.handle(lb, request, reply))
        try:
            lb.port = await lb.server.listen(lb.address, wanted_port)
        except (PermissionError, OSError) as exc:
            if wanted_port == 0:
                raise
            log.warning("alb_port_unavailable", address=lb.address, port=wanted_port, error=str(exc), fallback="free port")
            lb.port = await lb.server.listen(lb.address, 0)
        lb.listener = lb.server.listener

    async def close(self, lb: Balancer) -> None:
        if lb.server is not None:
            await lb.server.shutdown(timeout=1)

    def handle(self, lb: Balancer, request: Request, reply: Reply) -> None:
        lb.requests += 1
        path = request.path.split("?", 1)[0]
        route = next((r for r in lb.routes if r.matches(path)), None)
        if route is None:
            reply(404, b"", ((b"Content-Type", b"text/plain"), SERVER))
            return
        group = self.runtime.groups.get(route.target_group_arn)
        target = group.pick() if group is not None else None
        if group is None or target is None:
            reply(*error_page(503))
            return
        address = self.runtime.target_address(group, target)
        if address is None:
            reply(*error_page(502))
            return
        self.forward(group, (target.target_id, target.port), address, request, reply)

    def forward(self, group: GroupRuntime, key: tuple[str, int], address: tuple[str, int], request: Request, reply: Reply) -> None:
        fwd = _Forward(reply, group.inflight.setdefault(key, set()))
        fwd.call = self.upstream.request(address[0], address[1], upstream_request(request, request.path), fwd)

    async def stop(self) -> None:
        self.upstream.close()


def path_patterns(path: str, path_type: str) -> tuple[str, ...]:
    """How the Load Balancer Controller turns an Ingress path into ALB path-pattern values."""
    if path_type == "Exact":
        return (path,)
    if path_type == "Prefix":
        base = path.rstrip("/")
        return ("/*",) if not base else (base, base + "/*")
    return (path or "/*",)

