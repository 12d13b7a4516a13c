"""What a stand-in container does, decided from its pod alone (pure): every container that is not
TF Serving and declares TCP `containerPorts` runs as a stand-in process on its pod IP, answering
HTTP on each port.  Its behaviour comes from the pod's annotations (`sim.spotchaos.io/KEY`, or
`sim.spotchaos.io/KEY.CONTAINER` for one container), which the twin's build writes from the
user's behaviours file (cluster/twin/behaviours.py), else the defaults below:

| key | default | meaning |
|---|---|---|
| start-seconds | 2 | cluster seconds from the container's start to its ports opening (the app's boot) |
| service-time-ms | 5 | real milliseconds each request takes |
| concurrency | 64 | requests worked on at once; the rest queue |
| error-rate | 0 | share of requests answered 500 (exact: every 1/rate-th request) |
| sigterm | honour | honour: stop accepting and finish what is in flight on SIGTERM; ignore: serve until SIGKILL |
| exec-probe | pass | exec probes pass once the container is up (pass) or never (fail) |
| run-seconds | 10 for a pod that runs to completion (a Job's: restartPolicy Never or OnFailure), else forever | cluster seconds the process runs before it exits 0 |

Probes are answered as the kubelet sends them: httpGet and tcpSocket over the network to the
stand-in; an HTTPS httpGet and a grpc probe as a TCP connect to their port (the stand-in speaks
neither TLS nor HTTP/2: what a probe of either checks here is that the port accepts); exec as the
`exec-probe` key says.  Pods on the host network keep the kubelet's timed readiness (their ports
are the node's)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from cluster.components.harness import is_harness
from cluster.components.tf_serving import serving_args
from cluster.pod_lifecycle import ANNOTATION_PREFIX


@dataclass(frozen=True)
class Behaviour:
    start_seconds: float = 2.0
    service_time_ms: float = 5.0
    concurrency: int = 64
    error_rate: float = 0.0
    sigterm: Literal["honour", "ignore"] = "honour"
    exec_probe: Literal["pass", "fail"] = "pass"
    run_seconds: float | None = None  # None: the pod's kind decides (runs_for)


KEYS = {"start-seconds": "start_seconds", "service-time-ms": "service_time_ms", "concurrency": "concurrency", "error-rate": "error_rate",
        "sigterm": "sigterm", "exec-probe": "exec_probe", "run-seconds": "run_seconds"}
CHOICES = {"sigterm": ("honour", "ignore"), "exec-probe": ("pass", "fail")}
JOB_RUN_SECONDS = 10.0
BOUNDS = {"run-seconds": (0.0, 7 * 86400.0), "start-seconds": (0.0, 3600.0), "service-time-ms": (0.0, 60_000.0), "concurrency": (1.0, 100_000.0), "error-rate": (0.0, 1.0)}


def _value(key: str, raw: str) -> tuple[Any, str | None]:
    """(the value, or None with the problem) of one annotation."""
    if key in CHOICES:
        return (raw, None) if raw in CHOICES[key] else (None, f"use {' or '.join(CHOICES[key])}")
    try:
        number = float(raw)
    except ValueError:
        return None, "not a number"
    low, high = BOUNDS[key]
    if not low <= number <= high:
        return None, f"out of range {low:g}-{high:g}"
    return (int(number) if key == "concurrency" else number), None


def behaviour(pod: Mapping[str, Any], container: str, defaults: Behaviour = Behaviour()) -> tuple[Behaviour, list[str]]:
    """The container's behaviour and the annotations that were ignored, with why."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    found: dict[str, Any] = {}
    problems: list[str] = []
    for key, attr in KEYS.items():
        for name in (ANNOTATION_PREFIX + key, f"{ANNOTATION_PREFIX}{key}.{container}"):  # the container's own wins
            raw = annotations.get(name)
            if raw is None:
                continue
            value, problem = _value(key, str(raw))
            if problem:
                problems.append(f"{name}={raw!r}: {problem}")
            else:
                found[attr] = value
    return replace(defaults, **found), problems


def tcp_ports(container: Mapping[str, Any]) -> list[int]:
    """The container's TCP containerPorts, once each."""
    ports: list[int] = []
    for p in container.get("ports") or []:
        port = p.get("containerPort")
        if isinstance(port, int) and 0 < port < 65536 and str(p.get("protocol", "TCP")).upper() == "TCP" and port not in ports:
            ports.append(port)
    return ports


def listen_ports(container: Mapping[str, Any]) -> list[int]:
    """Where the stand-in listens: its TCP containerPorts (declaring them is informational to
    Kubernetes) and every port its probes are sent to, which the real process must be listening on."""
    ports = tcp_ports(container)
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        check = probe_check(container, container.get(kind) or {})
        if check is not None and check[1] is not None and 0 < check[1] < 65536 and check[1] not in ports:
            ports.append(check[1])
    return ports


def on_host_network(pod: Mapping[str, Any]) -> bool:
    return bool((pod.get("spec") or {}).get("hostNetwork"))


def runs_to_completion(pod: Mapping[str, Any]) -> bool:
    """A pod the kubelet does not restart (a Job's): its processes exit when their work is done."""
    return str((pod.get("spec") or {}).get("restartPolicy", "Always")) in ("Never", "OnFailure")


def runs_for(pod: Mapping[str, Any], how: Behaviour) -> float | None:
    """Cluster seconds until the stand-in exits 0, or None for a process that serves until stopped."""
    if how.run_seconds is not None:
        return how.run_seconds
    return JOB_RUN_SECONDS if runs_to_completion(pod) else None


def runs_standin(pod: Mapping[str, Any], container: Mapping[str, Any]) -> bool:
    """Whether the container runs as a stand-in: not TF Serving (it has its own model), not the
    harness's image (it runs for real), not on the host network (its ports are the node's); and it
    listens on a port, or its pod runs to completion (a Job's process that has work to finish)."""
    if on_host_network(pod) or serving_args(dict(container)) is not None or is_harness(container):
        return False
    return bool(listen_ports(container)) or runs_to_completion(pod)


ProbeKind = Literal["http", "tcp", "exec"]


def probe_check(container: Mapping[str, Any], probe: Mapping[str, Any]) -> tuple[ProbeKind, int | None, str] | None:
    """How the prober checks a probe: ("http", port, path), ("tcp", port, ""), ("exec", None, ""), or None for no handler."""
    if "httpGet" in probe:
        get = probe["httpGet"] or {}
        port = probe_port(container, get.get("port"))
        if str(get.get("scheme", "HTTP")).upper() == "HTTPS":
            return "tcp", port, ""
        return "http", port, str(get.get("path") or "/")
    if "tcpSocket" in probe:
        return "tcp", probe_port(container, (probe["tcpSocket"] or {}).get("port")), ""
    if "grpc" in probe:
        port = (probe["grpc"] or {}).get("port")
        return "tcp", port if isinstance(port, int) else None, ""
    if "exec" in probe:
        return "exec", None, ""
    return None


def probe_port(container: Mapping[str, Any], port: Any) -> int | None:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for cp in container.get("ports") or []:
        if cp.get("name") == port:
            return int(cp["containerPort"])
    return None


def fails(n: int, error_rate: float) -> bool:
    """Whether the n-th request (from 0) is answered with an error: exactly `error_rate` of them, spread evenly."""
    return int((n + 1) * error_rate) > int(n * error_rate)
