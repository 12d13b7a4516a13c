"""Each pod's CPU use as the metrics pipeline would report it: a serving pod burns
`cpu-per-request-ms` of CPU per prediction it answers (by default its service time: inference is
CPU-bound), on top of an idle floor, so that load drives the Horizontal Pod Autoscaler.  A pod
annotated sim.spotchaos.io/cpu-usage-millicores reports that fixed figure instead."""

from __future__ import annotations

import time
from typing import Any

from cluster.sim.config import Serving
from cluster.sim.serving.pods import ANNOTATION_PREFIX, ServingPods

FIXED_ANNOTATION = ANNOTATION_PREFIX + "cpu-usage-millicores"
PER_REQUEST_ANNOTATION = ANNOTATION_PREFIX + "cpu-per-request-ms"


class CpuModel:
    def __init__(self, serving: ServingPods, defaults: Serving) -> None:
        self.serving = serving
        self.defaults = defaults
        self._samples: dict[tuple[str, str], tuple[int, float]] = {}  # pod -> (requests, real time) at the last read

    def usage_millicores(self, pod: dict[str, Any]) -> int | None:
        """CPU in use now (millicores); None while there is no sample yet (a new pod, as metrics-server)."""
        meta = pod["metadata"]
        ann = meta.get("annotations") or {}
        if FIXED_ANNOTATION in ann:
            try:
                return int(float(ann[FIXED_ANNOTATION]))
            except ValueError:
                return None
        key = (meta["namespace"], meta["name"])
        proc = self.serving.processes.get(key)
        if proc is None:
            return self.defaults.idle_cpu_millicores if (pod.get("status") or {}).get("phase") == "Running" else None
        now = time.monotonic()
        last = self._samples.get(key)
        self._samples[key] = (proc.requests, now)
        if last is None or now - last[1] <= 0:
            return None
        rate = (proc.requests - last[0]) / (now - last[1])
        per_request = self.defaults.cpu_per_request_ms if self.defaults.cpu_per_request_ms is not None else proc.settings.service_time * 1000
        try:
            per_request = float(ann.get(PER_REQUEST_ANNOTATION, per_request))
        except ValueError:
            pass
        return int(self.defaults.idle_cpu_millicores + rate * per_request)

    def forget(self, key: tuple[str, str]) -> None:
        self._samples.pop(key, None)
