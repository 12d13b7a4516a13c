"""The kubelet's readiness prober for pods that really listen (the TF Serving pods): an
`httpGet` or `tcpSocket` probe sent over the network to the pod IP every `periodSeconds`,
with `initialDelaySeconds`, `timeoutSeconds`, `successThreshold` and `failureThreshold`
as the kubelet applies them (probe timings are cluster time; a probe's own timeout is
floored so that a fast clock does not fail healthy pods)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import structlog

from cluster.components.tf_serving import serving_args
from cluster.sim.controllers.base import SimContext
from cluster.sim.controllers.kubelet import Kubelets

log = structlog.get_logger("sim.prober")


def probe_port(container: dict[str, Any], port: Any) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for cp in container.get("ports") or []:
        if cp.get("name") == port:
            return int(cp["containerPort"])
    return None


class ReadinessProber:
    def __init__(self, ctx: SimContext, kubelets: Kubelets) -> None:
        self.ctx = ctx
        self.clock = ctx.clock
        self.kubelets = kubelets
        self._loops: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        kubelets.probers.append(self.take)
        kubelets.pod_listeners.append(self.on_pod)

    def take(self, pod: dict[str, Any]) -> bool:
        for c in pod["spec"].get("containers") or []:
            probe = c.get("readinessProbe") or {}
            if serving_args(c) is None or not ("httpGet" in probe or "tcpSocket" in probe):
                continue
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            ip = pod["status"]["podIP"]
            self._loops[key] = asyncio.get_running_loop().create_task(self._loop(key, ip, c, probe))
            return True
        return False

    def on_pod(self, what: str, pod: dict[str, Any]) -> None:
        if what in ("stopping", "stopped", "lost"):
            task = self._loops.pop((pod["metadata"]["namespace"], pod["metadata"]["name"]), None)
            if task is not None:
                task.cancel()

    async def _check(self, ip: str, container: dict[str, Any], probe: dict[str, Any], timeout: float) -> bool:
        if "tcpSocket" in probe:
            port = probe_port(container, probe["tcpSocket"].get("port"))
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
            except (OSError, TimeoutError):
                return False
            writer.close()
            return True
        get = probe["httpGet"]
        port = probe_port(container, get.get("port"))
        path = get.get("path", "/")
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        try:
            async with self._session.get(f"http://{ip}:{port}{path}", timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                await resp.read()
                return 200 <= resp.status < 400
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def _loop(self, key: tuple[str, str], ip: str, container: dict[str, Any], probe: dict[str, Any]) -> None:
        period = float(probe.get("periodSeconds", 10))
        # the probe waits for a real HTTP answer: its timeout is data-plane time, never shorter
        # than a real kubelet's (timeoutSeconds real seconds), however fast the cluster clock runs
        timeout = max(self.clock.real_timeout(float(probe.get("timeoutSeconds", 1))), float(probe.get("timeoutSeconds", 1)))
        need_ok = int(probe.get("successThreshold", 1))
        need_fail = int(probe.get("failureThreshold", 3))
        ready = False
        oks = fails = 0
        await self.clock.sleep(float(probe.get("initialDelaySeconds", 0)))
        while True:
            ok = await self._check(ip, container, probe, timeout)
            oks, fails = (oks + 1, 0) if ok else (0, fails + 1)
            if not ready and oks >= need_ok:
                ready = True
                self.kubelets.set_ready(key, True)
            elif ready and fails >= need_fail:
                ready = False
                self.kubelets.set_ready(key, False)
            await self.clock.sleep(period)

    async def stop(self) -> None:
        for t in self._loops.values():
            t.cancel()
        self._loops.clear()
        if self._session is not None:
            await self._session.close()
