"""How long a container takes to stop, from its spec, as the kubelet runs it (pure)."""

from __future__ import annotations

import re
from typing import Any

_SLEEP = re.compile(r"(?:^|[\s;&|])sleep\s+(\d+(?:\.\d+)?)")

# Images whose main process ignores SIGTERM and is only killed at the end of the grace
# period (tensorflow/serving#1853).
SIGTERM_IGNORING_IMAGES = ("tensorflow/serving",)


def prestop_seconds(container: dict[str, Any]) -> float:
    """Duration of the preStop hook: `sleep N` in an exec command, or the `sleep` action."""
    hook = ((container.get("lifecycle") or {}).get("preStop")) or {}
    if "sleep" in hook:
        return float((hook["sleep"] or {}).get("seconds", 0))
    command = (hook.get("exec") or {}).get("command") or []
    m = _SLEEP.search(" ".join(str(c) for c in command))
    return float(m.group(1)) if m else 0.0


# the simulator's per-pod behaviour (sim.spotchaos.io/KEY, or KEY.CONTAINER for one container)
ANNOTATION_PREFIX = "sim.spotchaos.io/"


def ignores_sigterm(container: dict[str, Any], pod: dict[str, Any] | None = None) -> bool:
    """Whether the container's process serves on through SIGTERM until SIGKILL: as its pod's
    `sigterm` annotation says (honour | ignore), else as its image is known to."""
    annotations = ((pod or {}).get("metadata") or {}).get("annotations") or {}
    said = annotations.get(f"{ANNOTATION_PREFIX}sigterm.{container.get('name')}") or annotations.get(f"{ANNOTATION_PREFIX}sigterm")
    if said in ("honour", "ignore"):
        return said == "ignore"
    image = str(container.get("image", ""))
    return any(image.startswith(i) or f"/{i}" in image for i in SIGTERM_IGNORING_IMAGES)


def stop_seconds(pod: dict[str, Any], grace: float) -> float:
    """When the last container is gone after deletion starts: preStop, then SIGTERM (or the grace end)."""
    longest = 0.0
    for c in pod.get("spec", {}).get("containers") or []:
        t = grace if ignores_sigterm(c, pod) else prestop_seconds(c)
        longest = max(longest, min(grace, t))
    return longest


def readiness_delay(container: dict[str, Any]) -> float:
    """Time from container start until a readiness probe first succeeds (0 without a probe)."""
    probe = container.get("readinessProbe")
    if not probe:
        return 0.0
    initial = float(probe.get("initialDelaySeconds", 0))
    period = float(probe.get("periodSeconds", 10))
    success = int(probe.get("successThreshold", 1))
    return initial + period * max(0, success - 1) + min(period, 1.0)
