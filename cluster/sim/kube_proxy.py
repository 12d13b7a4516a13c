"""kube-proxy's NodePorts: on every Ready node, each NodePort (or LoadBalancer) Service's node
port listens on the node's loopback address and forwards each new connection to a ready
endpoint of the Service on any node (externalTrafficPolicy Cluster, one random endpoint per
connection, as iptables DNAT does).  A Service without a ready endpoint is rejected at once (a
reset, as kube-proxy's REJECT rule does), never held.  When the node dies its connections are reset.

Connections from outside the simulator are spliced through the listener.  The simulator's own ALB
`dial`s instead: the same choice of endpoint per connection (kept for the connection's life, as
conntrack does), the same refusals, the same reset when the node dies, but its connection goes
straight to the pod, without the two extra sockets a splice costs per request (docs/simulator.md,
"The data plane")."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Hashable, Iterable
from typing import Any

import structlog

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.kubelet import Kubelets, NodeAgent
from cluster.sim.kube.store import StoredEvent
from cluster.sim.net import reset
from cluster.sim.wire.client import Hop

log = structlog.get_logger("sim.kube_proxy")

ALL = "all"


def ready_backends(endpoints: dict[str, Any] | None, port_name: str) -> list[tuple[str, int]]:
    """(ip, port) of every ready address of an Endpoints object for one named Service port."""
    out = []
    for subset in (endpoints or {}).get("subsets") or []:
        ports = [p for p in subset.get("ports") or [] if p.get("name", "") == port_name]
        if not ports:
            continue
        for a in subset.get("addresses") or []:
            out.append((a["ip"], int(ports[0]["port"])))
    return out


class _Splice(asyncio.Protocol):
    """One side of a forwarded connection; `peer` is the other side."""

    def __init__(self, conns: set[Any]) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Splice | None = None
        self.pending: list[bytes] = []
        self.conns = conns
        self.rejected = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conns.add(self)
        if self.rejected:  # refused before the loop handed over the accepted connection
            reset(transport)

    def reject(self) -> None:
        """Reset the connection (iptables REJECT), now or as soon as it is handed over: the
        decision may come before `connection_made` (the connect task runs first)."""
        self.rejected = True
        reset(self.transport)

    def attach(self, peer: _Splice) -> None:
        self.peer = peer
        if self.pending and peer.transport is not None:
            peer.transport.write(b"".join(self.pending))
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            self.pending.append(data)

    def eof_received(self) -> bool | None:
        if self.peer is not None and self.peer.transport is not None and self.peer.transport.can_write_eof():
            self.peer.transport.write_eof()
            return True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.conns.discard(self)
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.transport.is_closing():
            if exc is not None:
                reset(peer.transport)
            else:
                peer.transport.close()


class KubeProxy(Controller):
    name = "kube-proxy"
    kinds = ("Service",)
    resync = 10.0

    def __init__(self, ctx: SimContext, kubelets: Kubelets) -> None:
        super().__init__(ctx)
        self.kubelets = kubelets
        self.svc_rt = ctx.api.rt("Service")
        self.ep_rt = ctx.api.rt("Endpoints")
        self.ready_nodes: dict[str, str] = {}  # node name -> loopback address
        self.node_at: dict[str, str] = {}  # loopback address -> node name
        self.listeners: dict[tuple[str, int], asyncio.Server] = {}
        self.routes: dict[int, tuple[str, str, str]] = {}  # node port -> (namespace, service, port name)
        self.conns: dict[str, set[Any]] = {}  # node -> connections through it (each with .transport)
        self._starting: set[tuple[str, int]] = set()
        kubelets.node_listeners.append(self.on_node)

    def on_node(self, what: str, agent: NodeAgent) -> None:
        if what == "up":
            self.ready_nodes[agent.name] = agent.loopback
            self.node_at[agent.loopback] = agent.name
        else:
            self.ready_nodes.pop(agent.name, None)
            self.node_at.pop(agent.loopback, None)
            for s in list(self.conns.pop(agent.name, set())):
                reset(s.transport)
        self.enqueue(ALL)

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        return [ALL]

    def all_keys(self) -> Iterable[Hashable]:
        return [ALL]

    def reconcile(self, key: Hashable) -> None:
        routes: dict[int, tuple[str, str, str]] = {}
        for svc in self.api.store.iter(self.svc_rt):
            spec = svc.get("spec", {})
            if spec.get("type") not in ("NodePort", "LoadBalancer"):
                continue
            for p in spec.get("ports") or []:
                if p.get("nodePort"):
                    routes[int(p["nodePort"])] = (svc["metadata"]["namespace"], svc["metadata"]["name"], p.get("name", ""))
        self.routes = routes
        wanted = {(node, port) for node in self.ready_nodes for port in routes}
        for lk in list(self.listeners):
            if lk not in wanted:
                self.listeners.pop(lk).close()
        for lk in wanted - set(self.listeners) - self._starting:
            self._starting.add(lk)
            asyncio.get_running_loop().create_task(self._listen(*lk))

    async def _listen(self, node: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        address = self.ready_nodes.get(node)
        try:
            if address is None:
                return
            conns = self.conns.setdefault(node, set())
            server = await loop.create_server(lambda: self._front(node, port, conns), address, port, reuse_address=True)
            if node in self.ready_nodes and port in self.routes:
                self.listeners[(node, port)] = server
            else:
                server.close()
        except OSError as exc:
            log.error("nodeport_listen_failed", node=node, port=port, error=str(exc))
        finally:
            self._starting.discard((node, port))

    def _pick(self, port: int) -> tuple[str, int] | None:
        """The endpoint a new connection to a node port goes to (None: no ready endpoint)."""
        route = self.routes.get(port)
        backends = ready_backends(self.api.store.get(self.ep_rt, route[0], route[1]), route[2]) if route else []
        return random.choice(backends) if backends else None

    def dial(self, address: str, port: int) -> Hop | None:
        """Where the simulator's own connection to address:port goes: None when address is no
        node's; the chosen pod when it is a node's node port; ConnectionRefusedError when nothing
        listens there or the Service has no ready endpoint (REJECT)."""
        node = self.node_at.get(address)
        if node is None:
            return None
        if (node, port) not in self.listeners:
            raise ConnectionRefusedError(f"nothing listens on {address}:{port}")
        backend = self._pick(port)
        if backend is None:
            raise ConnectionRefusedError(f"no ready endpoint behind {address}:{port}")
        return Hop(backend[0], backend[1], self.conns.setdefault(node, set()))

    def _front(self, node: str, port: int, conns: set[Any]) -> _Splice:
        front = _Splice(conns)
        loop = asyncio.get_running_loop()

        async def connect() -> None:
            backend = self._pick(port)
            if backend is None:
                front.reject()  # no endpoints: kube-proxy's iptables rules REJECT the connection
                return
            ip, target = backend
            try:
                _, back = await loop.create_connection(lambda: _Splice(conns), ip, target)
            except OSError:
                front.reject()
                return
            if front.transport is None or front.transport.is_closing():
                back.transport.close()  # type: ignore[union-attr]
                return
            back.attach(front)
            front.attach(back)

        loop.create_task(connect())
        return front

    async def stop(self) -> None:
        for server in self.listeners.values():
            server.close()
        for conns in self.conns.values():
            for s in list(conns):
                reset(s.transport)
        self.listeners.clear()
