"""Containers of the harness's own image run as real processes, as a container runtime would run
them: the container's command and args (with `spotchaos` the console script installed beside the
simulator's Python), its env (values and the downward-API fields a pod can read), its stdout and
stderr as the container log (`kubectl logs`), its exit code as the container's.  This is how the
load shards of `traffic.placement: cluster` run on the simulator: an Indexed Job of harness pods.

A process reads its pod IP as a real container does (`status.podIP` through the downward API)
and may bind to it: the load shards send from their pod IPs.  An instance that is lost kills its
processes at once (SIGKILL); a pod deleted gracefully gets SIGTERM, then SIGKILL at the end of its
grace period."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from cluster.components.harness import is_harness
from cluster.sim.controllers.base import SimContext
from cluster.sim.controllers.kubelet import Kubelets
from cluster.sim.tasks import ShortTasks

log = structlog.get_logger("sim.harness_pods")

_FIELD = re.compile(r"^metadata\.(annotations|labels)\['([^']+)'\]$")


def field_value(pod: dict[str, Any], path: str) -> str:
    """A downward-API fieldRef, as the kubelet resolves the ones a container's env may read."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    match = _FIELD.match(path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    simple = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"), "metadata.uid": meta.get("uid"),
              "spec.nodeName": spec.get("nodeName"), "spec.serviceAccountName": spec.get("serviceAccountName"),
              "status.podIP": status.get("podIP"), "status.hostIP": status.get("hostIP")}
    return str(simple.get(path) or "")


def command_line(container: dict[str, Any]) -> list[str]:
    """The container's entrypoint and args; `spotchaos` is the console script beside this Python."""
    argv = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
    if not argv:
        argv = ["spotchaos"]  # the image's entrypoint
    if argv[0] == "spotchaos":
        script = Path(sys.executable).parent / "spotchaos"
        argv = ([str(script)] if script.exists() else [sys.executable, "-m", "chaos.cli"]) + argv[1:]
    return argv


def environment(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)  # the machine's (the installed harness needs its PATH); the container's on top
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif (ref := (e.get("valueFrom") or {}).get("fieldRef")) is not None:
            env[e["name"]] = field_value(pod, str(ref.get("fieldPath", "")))
    return env


@dataclass
class HarnessProcess:
    key: tuple[str, str]
    container: str
    proc: asyncio.subprocess.Process
    reader: asyncio.Task[None] | None = None


class HarnessPods:
    def __init__(self, ctx: SimContext, kubelets: Kubelets) -> None:
        self.ctx = ctx
        self.kubelets = kubelets
        self.processes: dict[tuple[str, str], list[HarnessProcess]] = {}
        self.tasks = ShortTasks()
        kubelets.pod_listeners.append(self.on_pod)
        kubelets.process_pods.append(lambda key: bool(self.processes.get(key)))

    def on_pod(self, what: str, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if what == "started":
            for c in pod["spec"].get("containers") or []:
                if is_harness(c):
                    self.tasks.spawn(self._run(key, pod, c))
        elif what == "lost":
            self._signal(key, signal.SIGKILL, "instance gone")
        elif what == "stopping":  # the kubelet kills the rest at the end of the grace period ("stopped")
            self._signal(key, signal.SIGTERM, "pod deleted")
        elif what == "stopped":
            self._signal(key, signal.SIGKILL, "pod gone")

    def _signal(self, key: tuple[str, str], sig: signal.Signals, why: str) -> None:
        for hp in self.processes.get(key, []):
            if hp.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    hp.proc.send_signal(sig)
                log.info("harness_process_signalled", pod=key[1], signal=sig.name, why=why)

    async def _run(self, key: tuple[str, str], pod: dict[str, Any], container: dict[str, Any]) -> None:
        name = str(container.get("name", ""))
        argv = command_line(container)
        try:
            proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.STDOUT, env=environment(pod, container), start_new_session=True)
        except OSError as exc:
            log.error("harness_process_failed_to_start", pod=key[1], argv=argv[:2], error=str(exc))
            self.ctx.api.logs.write(key[0], key[1], name, f"exec {argv[0]}: {exc}", self.ctx.clock.timestamp())
            self.kubelets.exited(key, name, 128)
            return
        hp = HarnessProcess(key, name, proc)
        self.processes.setdefault(key, []).append(hp)
        log.info("harness_process_started", pod=key[1], pid=proc.pid)
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self.ctx.api.logs.write(key[0], key[1], name, line.decode(errors="replace").rstrip("\n"), self.ctx.clock.timestamp())
        code = await proc.wait()
        self.processes[key].remove(hp)
        if not self.processes[key]:
            del self.processes[key]
        log.info("harness_process_exited", pod=key[1], code=code)
        # a signal's death is 128 + its number, as a container runtime reports it
        self.kubelets.exited(key, name, code if code >= 0 else 128 - code)
        if key not in self.processes:
            self.kubelets.process_ended(key)

    async def stop(self) -> None:
        for key in list(self.processes):
            self._signal(key, signal.SIGKILL, "simulator stopping")
        self.tasks.cancel()
