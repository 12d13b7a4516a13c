"""The Horizontal Pod Autoscaler controller (autoscaling/v2, Resource cpu metrics) as
kube-controller-manager runs it every sync period, reading pod CPU from the simulator's
CPU model and writing the Deployment's scale, the HPA's status and its Events."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, Protocol

import structlog

from cluster.sim.controllers import hpa_policy as hp
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.scheduling import pod_requests
from cluster.sim.kube.disruption import pod_ready
from cluster.sim.kube.selectors import make_filter

log = structlog.get_logger("sim.hpa")


class PodCpu(Protocol):
    """Where the HPA reads a pod's CPU, as the metrics pipeline reports it (the serving pods' CPU model)."""

    def usage_millicores(self, pod: dict[str, Any]) -> int | None: ...


class HorizontalPodAutoscalers(Controller):
    name = "horizontal-pod-autoscaler"
    kinds = ("HorizontalPodAutoscaler",)

    def __init__(self, ctx: SimContext, cpu: PodCpu) -> None:
        super().__init__(ctx)
        self.resync = ctx.config.hpa_sync_period
        self.cpu = cpu
        self.hpa_rt, self.deploy_rt, self.pod_rt = ctx.api.rt("HorizontalPodAutoscaler"), ctx.api.rt("Deployment"), ctx.api.rt("Pod")
        self._recommendations: dict[tuple[str, str], list[tuple[float, int]]] = {}
        self._changes: dict[tuple[str, str], list[tuple[float, int]]] = {}

    def keys_for(self, ev: Any) -> Iterable[Hashable]:
        return []  # acts on its sync period only, as the real controller does

    def all_keys(self) -> Iterable[Hashable]:
        return [(h["metadata"]["namespace"], h["metadata"]["name"]) for h in self.api.store.iter(self.hpa_rt)]

    def reconcile(self, key: Hashable) -> None:
        """One sync of an HPA (kube-controller-manager's reconcileAutoscaler): the target's scale,
        the pods' CPU against the target, the recommendation stabilized and rate-limited within
        min/max (hpa_policy), the Deployment scaled and the HPA's status written."""
        ns, name = key  # type: ignore[misc]
        hpa = self.api.store.get(self.hpa_rt, ns, name)
        if hpa is None:
            self._recommendations.pop((ns, name), None)
            self._changes.pop((ns, name), None)
            return
        found = self._scale_target(hpa, ns)
        if found is None:
            return
        deploy, current, target = found
        samples = self._samples(hpa, deploy, ns, current)
        if samples is None:
            return
        spec = hpa.get("spec") or {}
        now = self.clock.timestamp()
        target_pct = hp.target_percent(target, samples)
        recommended, util = hp.replicas_for_utilization(current, samples, target_pct)
        lo, hi = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        recommended = max(lo, min(hi, recommended))
        history = self._recommendations.setdefault((ns, name), [])
        behavior = spec.get("behavior")
        desired = hp.stabilize(recommended, current, history, now, behavior)
        history.append((now, recommended))
        del history[: max(0, len(history) - 200)]
        changes = self._changes.setdefault((ns, name), [])
        desired = max(lo, min(hi, hp.rate_limit(desired, current, changes, now, behavior)))
        if desired != current:
            self._rescale(hpa, deploy, current, desired, changes, now)
            log.info("hpa_rescale", hpa=f"{ns}/{name}", replicas=f"{current}->{desired}", utilization=util, target=target_pct)
        self._status(hpa, desired, util, hp.conditions(recommended, desired, current, lo, hi), rescaled=desired != current, current=current)

    def _scale_target(self, hpa: dict[str, Any], ns: str) -> tuple[dict[str, Any], int, dict[str, Any]] | None:
        """(the Deployment it scales, its replicas, the cpu metric's target); None, with the HPA's
        status saying why, when the target is not a Deployment, is gone, or no cpu metric is given."""
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        if ref.get("kind") != "Deployment":
            self._status(hpa, None, None, [("ScalingActive", "False", "FailedGetScale", f"the HPA controller was unable to get the target's current scale: {ref.get('kind')} is not simulated")])
            return None
        deploy = self.api.store.get(self.deploy_rt, ns, ref.get("name", ""))
        if deploy is None:
            self._status(hpa, None, None, [("AbleToScale", "False", "FailedGetScale", f'deployments/scale.apps "{ref.get("name")}" not found')])
            return None
        current = int((deploy.get("spec") or {}).get("replicas", 1))
        metric = next((m for m in spec.get("metrics") or [] if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"), None)
        if metric is None:
            self._status(hpa, current, None, [("ScalingActive", "False", "InvalidMetricSourceType", "only Resource cpu metrics are simulated")])
            return None
        return deploy, current, metric["resource"].get("target") or {}

    def _samples(self, hpa: dict[str, Any], deploy: dict[str, Any], ns: str, current: int) -> list[hp.PodSample] | None:
        """The Deployment's running and pending pods' CPU (requests, usage, Ready); None, with the
        HPA's status saying why, when a pod has no cpu request."""
        selector = (deploy.get("spec") or {}).get("selector") or {}
        labels = ",".join(f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items())
        pods = [p for p in self.api.store.list(self.pod_rt, ns, make_filter(labels or None, None))
                if not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase") in ("Running", "Pending")]
        samples = []
        for p in pods:
            request, _ = pod_requests(p)
            if request <= 0:
                self._status(hpa, current, None, [("ScalingActive", "False", "FailedGetResourceMetric", f"failed to get cpu utilization: missing request for cpu in container of pod {p['metadata']['name']}")])
                return None
            running = (p.get("status") or {}).get("phase") == "Running"
            samples.append(hp.PodSample(request, self.cpu.usage_millicores(p) if running else None, running and pod_ready(p)))
        return samples

    def _rescale(self, hpa: dict[str, Any], deploy: dict[str, Any], current: int, desired: int, changes: list[tuple[float, int]], now: float) -> None:
        def scale(d: dict[str, Any]) -> None:
            d["spec"]["replicas"] = desired

        self.api.mutate(self.deploy_rt, deploy["metadata"]["namespace"], deploy["metadata"]["name"], scale)
        changes.append((now, desired - current))
        del changes[: max(0, len(changes) - 200)]
        direction = "above" if desired > current else "below"
        self.ctx.recorder("horizontal-pod-autoscaler").record(hpa, "SuccessfulRescale", f"New size: {desired}; reason: cpu resource utilization (percentage of request) {direction} target")

    def _status(self, hpa: dict[str, Any], desired: int | None, util: int | None, conditions: list[tuple[str, str, str, str]], *, rescaled: bool = False, current: int | None = None) -> None:
        now = self.clock.isoformat()

        def change(h: dict[str, Any]) -> None:
            st = h.setdefault("status", {})
            if current is not None or desired is not None:
                st["currentReplicas"] = current if current is not None else desired
                st["desiredReplicas"] = desired if desired is not None else current
            if rescaled:
                st["lastScaleTime"] = now
            if util is not None:
                st["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": util}}}]
            old = {c["type"]: c for c in st.get("conditions") or []}
            st["conditions"] = [
                {"type": t, "status": s, "reason": r, "message": m,
                 "lastTransitionTime": old[t]["lastTransitionTime"] if t in old and old[t]["status"] == s else now}
                for t, s, r, m in conditions
            ]

        self.api.mutate(self.hpa_rt, hpa["metadata"]["namespace"], hpa["metadata"]["name"], change)
