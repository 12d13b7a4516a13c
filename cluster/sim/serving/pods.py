"""Running TF Serving pods as real HTTP servers on their pod IPs (loopback), driven by the
kubelet's pod notifications.

- The REST port opens only once the model is loaded (tensorflow_model_server starts its HTTP
  server after the initial load), `model_load_seconds` of cluster time after the container starts.
- A pod works on `concurrency` requests at once, each taking `service_time_ms` of real time;
  the rest queue, so a pod saturates like a real one.
- TF Serving ignores SIGTERM (tensorflow/serving#1853): a deleted pod keeps serving through its
  preStop hook and grace period and is then killed: open connections are reset.  A process that
  honours SIGTERM stops accepting and finishes what it has.  A lost node resets everything at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

from cluster.components.tf_serving import ServingArgs, serving_args
from cluster.pod_lifecycle import ANNOTATION_PREFIX, ignores_sigterm, prestop_seconds
from cluster.sim.clock import ClockTimer
from cluster.sim.controllers.base import SimContext
from cluster.sim.controllers.kubelet import Kubelets
from cluster.sim.serving import tfserving, tfserving_log
from cluster.sim.serving.workers import Workers
from cluster.sim.tasks import ShortTasks
from cluster.sim.wire.server import HttpServer, Reply, Request

log = structlog.get_logger("sim.serving")

JSON = ((b"Content-Type", b"application/json"),)


@dataclass
class PodSettings:
    service_time: float  # real seconds
    concurrency: int
    model_load: float  # cluster seconds


def pod_settings(pod: dict[str, Any], defaults: Any) -> PodSettings:
    ann = pod["metadata"].get("annotations") or {}

    def num(key: str, default: float) -> float:
        raw = ann.get(ANNOTATION_PREFIX + key)
        try:
            return float(raw) if raw is not None else default
        except ValueError:
            log.warning("bad_pod_annotation", pod=pod["metadata"]["name"], annotation=ANNOTATION_PREFIX + key, value=raw)
            return default

    return PodSettings(
        service_time=num("service-time-ms", defaults.service_time_ms) / 1000.0,
        concurrency=max(1, int(num("concurrency", defaults.concurrency))),
        model_load=num("model-load-seconds", defaults.model_load_seconds),
    )


@dataclass
class ServingProcess:
    """One tensorflow_model_server: its REST listener and the connections it holds."""

    key: tuple[str, str]
    ip: str
    args: ServingArgs
    settings: PodSettings
    graceful: bool  # honours SIGTERM
    server: HttpServer | None = None
    load_timer: ClockTimer | None = None
    dead: bool = False
    container: str = ""
    workers: Workers = field(init=False)  # predictions being worked on (at most settings.concurrency) and queued

    def __post_init__(self) -> None:
        self.workers = Workers(self.settings.concurrency)

    @property
    def requests(self) -> int:
        """Predictions taken up so far (the CPU model's rate)."""
        return self.workers.started

    def answer(self, request: Request, reply: Reply) -> None:
        """A prediction waits for one of `concurrency` workers, holds it `service_time` real seconds
        and is answered; anything else is answered at once."""
        if request.method != "POST":
            status, payload = tfserving.handle(self.args, request.method, request.path, request.body)
            reply(status, payload, JSON)
            return

        def done(_: int) -> None:
            status, payload = tfserving.handle(self.args, request.method, request.path, request.body)
            reply(status, payload, JSON)

        self.workers.submit(self.settings.service_time, done)


class ServingPods:
    def __init__(self, ctx: SimContext, kubelets: Kubelets) -> None:
        self.ctx = ctx
        self.clock = ctx.clock
        self.kubelets = kubelets
        self.processes: dict[tuple[str, str], ServingProcess] = {}
        self.tasks = ShortTasks()
        kubelets.pod_listeners.append(self.on_pod)

    def on_pod(self, what: str, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if what == "started":
            self._start(key, pod)
            return
        proc = self.processes.get(key)
        if proc is None:
            return
        if what == "stopping" and proc.graceful:
            grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
            delay = min(grace, max((prestop_seconds(c) for c in pod["spec"].get("containers") or []), default=0.0))
            self.clock.call_later(delay, lambda: self.tasks.spawn(self._sigterm(proc)))
        elif what == "stopped":
            if proc.graceful:
                self.tasks.spawn(self._sigterm(proc))
            else:
                self._kill(proc, "SIGKILL at the end of the grace period")
        elif what == "lost":
            self._kill(proc, "instance gone")

    def _log(self, proc: ServingProcess, lines: list[str]) -> None:
        """The container's stdout (kubectl logs)."""
        self.ctx.api.logs.write(proc.key[0], proc.key[1], proc.container, "\n".join(lines), self.clock.timestamp())

    def _start(self, key: tuple[str, str], pod: dict[str, Any]) -> None:
        ip = pod.get("status", {}).get("podIP")
        for c in pod["spec"].get("containers") or []:
            args = serving_args(c)
            if args is None or not ip:
                continue
            settings = pod_settings(pod, self.ctx.config.serving)
            proc = ServingProcess(key, ip, args, settings, graceful=not ignores_sigterm(c, pod), container=str(c.get("name", "")))
            self.processes[key] = proc
            self._log(proc, tfserving_log.loading(self.clock.timestamp(), args.model_name, args.model_base_path))
            proc.load_timer = self.clock.call_later(settings.model_load, lambda p=proc: self.tasks.spawn(self._listen(p)))
            log.debug("serving_loading", pod=key[1], ip=ip, port=args.rest_port, model=args.model_name)
            return

    async def _listen(self, proc: ServingProcess) -> None:
        if proc.dead:
            return
        proc.server = HttpServer(proc.answer)
        try:
            await proc.server.listen(proc.ip, proc.args.rest_port)
        except OSError as exc:
            log.error("serving_listen_failed", pod=proc.key[1], ip=proc.ip, port=proc.args.rest_port, error=str(exc))
            return
        if proc.dead:  # killed while binding
            self._kill(proc, "killed while starting")
            return
        log.info("serving_up", pod=proc.key[1], address=f"{proc.ip}:{proc.args.rest_port}", model=proc.args.model_name)
        self._log(proc, tfserving_log.serving(self.clock.timestamp(), proc.args.model_name, proc.args.grpc_port, proc.args.rest_port))

    async def _sigterm(self, proc: ServingProcess) -> None:
        """Stop accepting, finish what is in flight, then exit."""
        if proc.dead:
            return
        proc.dead = proc.workers.stopped = True
        self.processes.pop(proc.key, None)
        if proc.load_timer is not None:
            proc.load_timer.cancel()
        if proc.server is not None:
            await proc.server.shutdown(timeout=30)
        log.info("serving_stopped", pod=proc.key[1], how="graceful")

    def _kill(self, proc: ServingProcess, why: str) -> None:
        if proc.load_timer is not None:
            proc.load_timer.cancel()
        was_dead = proc.dead
        proc.dead = proc.workers.stopped = True
        self.processes.pop(proc.key, None)
        if proc.server is not None:
            proc.server.stop_accepting()
            proc.server.reset_all()
        if not was_dead:
            log.info("serving_killed", pod=proc.key[1], why=why)

    async def stop(self) -> None:
        for proc in list(self.processes.values()):
            self._kill(proc, "simulator stopping")
        self.tasks.cancel()
