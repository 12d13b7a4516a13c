"""Any workload's containers as stand-in processes: real HTTP servers on the pod IP, one per TCP
containerPort and probe port, driven by the kubelet's pod notifications like the TF Serving pods.  A stand-in
opens its ports `start-seconds` of cluster time after its container starts, answers any request
with 200 and a small JSON body (or 500, for its `error-rate` share) after `service-time-ms` of
real time, working on `concurrency` requests at once; on deletion it runs through its preStop
hook, then honours SIGTERM (stops accepting, finishes what it has) or ignores it until the grace
period's SIGKILL; a lost node resets its connections at once.  What each container does is
decided in standin_rules.py from its pod."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import structlog

from cluster.pod_lifecycle import prestop_seconds
from cluster.sim.clock import ClockTimer
from cluster.sim.controllers.base import SimContext
from cluster.sim.controllers.kubelet import Kubelets
from cluster.sim.serving.standin_rules import (
    Behaviour,
    behaviour,
    fails,
    listen_ports,
    runs_for,
    runs_standin,
)
from cluster.sim.serving.workers import Workers
from cluster.sim.tasks import ShortTasks
from cluster.sim.wire.server import HttpServer, Reply, Request

log = structlog.get_logger("sim.standins")

JSON = ((b"Content-Type", b"application/json"),)


@dataclass
class Standin:
    """One container's stand-in process: its listeners and the requests it holds."""

    key: tuple[str, str]
    container: str
    ip: str
    ports: list[int]
    behaviour: Behaviour
    servers: list[HttpServer] = field(default_factory=list)
    workers: Workers = field(init=False)
    start_timer: ClockTimer | None = None
    exit_timer: ClockTimer | None = None
    dead: bool = False

    def __post_init__(self) -> None:
        self.workers = Workers(self.behaviour.concurrency)

    def answer(self, request: Request, reply: Reply) -> None:
        def done(n: int) -> None:
            if fails(n, self.behaviour.error_rate):
                reply(500, b'{"error": "stand-in error (sim.spotchaos.io/error-rate)"}', JSON)
            else:
                reply(200, json.dumps({"pod": self.key[1], "namespace": self.key[0], "container": self.container, "path": request.path}).encode(), JSON)

        self.workers.submit(self.behaviour.service_time_ms / 1000.0, done)


class StandinPods:
    """Every started pod's stand-in containers (not TF Serving's, not on the host network)."""

    def __init__(self, ctx: SimContext, kubelets: Kubelets) -> None:
        self.ctx = ctx
        self.clock = ctx.clock
        self.kubelets = kubelets
        self.processes: dict[tuple[str, str], list[Standin]] = {}
        self.tasks = ShortTasks()
        kubelets.pod_listeners.append(self.on_pod)

    def on_pod(self, what: str, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if what == "started":
            self._start(key, pod)
            return
        procs = self.processes.get(key)
        if not procs:
            return
        if what == "stopping":
            grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
            containers = {c.get("name"): c for c in pod["spec"].get("containers") or []}
            for proc in procs:
                if proc.behaviour.sigterm == "honour":
                    delay = min(grace, prestop_seconds(containers.get(proc.container) or {}))
                    self.clock.call_later(delay, lambda p=proc: self.tasks.spawn(self._sigterm(p)))
        elif what == "stopped":
            self.processes.pop(key, None)
            for proc in procs:
                if proc.behaviour.sigterm == "honour":
                    self.tasks.spawn(self._sigterm(proc))
                else:
                    self._kill(proc, "SIGKILL at the end of the grace period")
        elif what == "lost":
            self.processes.pop(key, None)
            for proc in procs:
                self._kill(proc, "instance gone")

    def _start(self, key: tuple[str, str], pod: dict[str, Any]) -> None:
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            return
        procs: list[Standin] = []
        for c in pod["spec"].get("containers") or []:
            if not runs_standin(pod, c):
                continue
            how, problems = behaviour(pod, str(c.get("name", "")))
            for problem in problems:
                log.warning("standin_annotation_ignored", pod=key[1], problem=problem)
            proc = Standin(key, str(c.get("name", "")), ip, listen_ports(c), how)
            proc.start_timer = self.clock.call_later(how.start_seconds, lambda p=proc: self.tasks.spawn(self._listen(p)))
            run = runs_for(pod, how)
            if run is not None:
                proc.exit_timer = self.clock.call_later(how.start_seconds + run, lambda p=proc: self._exit(p))
            procs.append(proc)
        if procs:
            self.processes[key] = procs

    async def _listen(self, proc: Standin) -> None:
        for port in proc.ports:
            if proc.dead:
                return
            server = HttpServer(proc.answer)
            try:
                await server.listen(proc.ip, port)
            except OSError as exc:
                log.error("standin_listen_failed", pod=proc.key[1], container=proc.container, address=f"{proc.ip}:{port}", error=str(exc))
                continue
            proc.servers.append(server)
        if proc.dead:  # killed while binding
            self._kill(proc, "killed while starting")
            return
        log.debug("standin_up", pod=proc.key[1], container=proc.container, ports=proc.ports)

    def _exit(self, proc: Standin) -> None:
        """Its work done: the process closes its ports and exits 0 (the kubelet completes the pod)."""
        if proc.dead:
            return
        self._kill(proc, "exited 0")
        self.kubelets.exited(proc.key, proc.container, 0)

    async def _sigterm(self, proc: Standin) -> None:
        if proc.dead:
            return
        proc.dead = proc.workers.stopped = True
        for timer in (proc.start_timer, proc.exit_timer):
            if timer is not None:
                timer.cancel()
        await asyncio.gather(*(s.shutdown(timeout=30) for s in proc.servers))

    def _kill(self, proc: Standin, why: str) -> None:
        for timer in (proc.start_timer, proc.exit_timer):
            if timer is not None:
                timer.cancel()
        was_dead = proc.dead
        proc.dead = proc.workers.stopped = True
        for server in proc.servers:
            server.stop_accepting()
            server.reset_all()
        if not was_dead:
            log.debug("standin_killed", pod=proc.key[1], container=proc.container, why=why)

    def listening(self, namespace: str, name: str) -> list[int]:
        """The ports a pod's stand-ins have open now (for tests and `sim status`)."""
        return [port for proc in self.processes.get((namespace, name), []) if not proc.dead for port in proc.ports[: len(proc.servers)]]

    async def stop(self) -> None:
        for procs in list(self.processes.values()):
            for proc in procs:
                self._kill(proc, "simulator stopping")
        self.processes.clear()
        self.tasks.cancel()
