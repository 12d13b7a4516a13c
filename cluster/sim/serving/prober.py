"""The kubelet's readiness prober for pods that really listen (TF Serving pods and any workload's
stand-ins): each container's probe sent over the network to the pod IP every `periodSeconds`,
with `initialDelaySeconds`, `timeoutSeconds`, `successThreshold` and `failureThreshold` as the
kubelet applies them; the pod is Ready when every probed container is (probe timings are cluster
time; a probe's own timeout is floored so that a fast clock does not fail healthy pods).  How each
kind of probe is checked (httpGet, tcpSocket, grpc, exec) is in standin_rules.probe_check."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import structlog

from cluster.components.tf_serving import serving_args
from cluster.sim.controllers.base import SimContext
from cluster.sim.controllers.kubelet import Kubelets
from cluster.sim.serving.standin_rules import behaviour, probe_check, runs_standin

log = structlog.get_logger("sim.prober")


def _probed(pod: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(container, readiness probe) the prober can send over the network, or [] to leave the pod to the kubelet's timer."""
    out = []
    for c in pod["spec"].get("containers") or []:
        probe = c.get("readinessProbe") or {}
        if not probe:
            continue
        check = probe_check(c, probe)
        if check is None:
            return []
        if serving_args(c) is not None:
            if check[0] == "exec":
                return []
        elif not runs_standin(pod, c):
            return []
        out.append((c, probe))
    return out


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
        probed = _probed(pod)
        if not probed:
            return False
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        ip = pod["status"]["podIP"]
        self._loops[key] = asyncio.get_running_loop().create_task(self._pod_loop(key, ip, pod, probed))
        return True

    def on_pod(self, what: str, pod: dict[str, Any]) -> None:
        if what in ("stopping", "stopped", "lost"):
            task = self._loops.pop((pod["metadata"]["namespace"], pod["metadata"]["name"]), None)
            if task is not None:
                task.cancel()

    async def _check(self, ip: str, container: dict[str, Any], probe: dict[str, Any], timeout: float, up: bool) -> bool:
        check = probe_check(container, probe)
        if check is None:
            return False
        kind, port, path = check
        if kind == "exec":
            return up
        if port is None:
            return False
        if kind == "tcp":
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
            except (OSError, TimeoutError):
                return False
            writer.close()
            return True
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        try:
            async with self._session.get(f"http://{ip}:{port}{path}", timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                await resp.read()
                return 200 <= resp.status < 400
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def _pod_loop(self, key: tuple[str, str], ip: str, pod: dict[str, Any], probed: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Every probed container on its own period; the pod is Ready while all of them are."""
        ready = {str(c.get("name")): False for c, _ in probed}
        pod_ready = False

        def changed(name: str, now_ready: bool) -> None:
            nonlocal pod_ready
            ready[name] = now_ready
            if all(ready.values()) != pod_ready:
                pod_ready = not pod_ready
                self.kubelets.set_ready(key, pod_ready)

        await asyncio.gather(*(self._loop(ip, pod, c, probe, changed) for c, probe in probed))

    def _timeout(self, probe: dict[str, Any]) -> float:
        """A probe's timeout: data-plane time, never shorter than a real kubelet's (timeoutSeconds
        real seconds), however fast the cluster clock runs."""
        return max(self.clock.real_timeout(float(probe.get("timeoutSeconds", 1))), float(probe.get("timeoutSeconds", 1)))

    async def _started(self, ip: str, container: dict[str, Any], up: Any) -> None:
        """Until the container's startup probe succeeds (the kubelet runs no readiness probe before);
        at once without one.  (A startup probe past its failureThreshold would restart the container:
        the simulator keeps probing instead.)"""
        startup = container.get("startupProbe") or {}
        if not startup or probe_check(container, startup) is None:
            return
        await self.clock.sleep(float(startup.get("initialDelaySeconds", 0)))
        while not await self._check(ip, container, startup, self._timeout(startup), up()):
            await self.clock.sleep(float(startup.get("periodSeconds", 10)))

    async def _loop(self, ip: str, pod: dict[str, Any], container: dict[str, Any], probe: dict[str, Any], changed: Any) -> None:
        name = str(container.get("name"))
        how, _ = behaviour(pod, name)
        started = self.clock.timestamp()

        def up() -> bool:
            return how.exec_probe == "pass" and self.clock.timestamp() - started >= how.start_seconds

        period = float(probe.get("periodSeconds", 10))
        timeout = self._timeout(probe)
        need_ok = int(probe.get("successThreshold", 1))
        need_fail = int(probe.get("failureThreshold", 3))
        ready = False
        oks = fails = 0
        await self._started(ip, container, up)
        # initialDelaySeconds counts from the container's start, not from the startup probe's success
        await self.clock.sleep(max(0.0, float(probe.get("initialDelaySeconds", 0)) - (self.clock.timestamp() - started)))
        while True:
            ok = await self._check(ip, container, probe, timeout, up())
            oks, fails = (oks + 1, 0) if ok else (0, fails + 1)
            if not ready and oks >= need_ok:
                ready = True
                changed(name, True)
            elif ready and fails >= need_fail:
                ready = False
                changed(name, False)
            await self.clock.sleep(period)

    async def stop(self) -> None:
        for t in self._loops.values():
            t.cancel()
        self._loops.clear()
        if self._session is not None:
            await self._session.close()
