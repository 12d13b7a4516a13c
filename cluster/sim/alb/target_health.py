"""Target health as an ALB target group keeps it (pure state machine, cluster time).

initial (Elb.RegistrationInProgress, then Elb.InitialHealthChecking) -> healthy after
`healthy_threshold` consecutive passing checks, or unhealthy after `unhealthy_threshold`
failures; healthy <-> unhealthy likewise; deregistration -> draining
(Target.DeregistrationInProgress) for the whole deregistration delay -> gone (a described
target that is not registered is `unused`, Target.NotRegistered).  Source: ELB user guide,
"Health checks for your target groups" and "Deregistration delay".
"""

from __future__ import annotations

from dataclasses import dataclass, field

REASONS = {
    "Elb.RegistrationInProgress": "Target registration is in progress",
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.ResponseCodeMismatch": "Health checks failed with these codes: [{code}]",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.NotRegistered": "Target is not registered to the target group",
}

TargetKey = tuple[str, int]  # (target id, port)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str | None = None  # Target.Timeout | Target.FailedHealthChecks | Target.ResponseCodeMismatch
    code: int | None = None


@dataclass
class TargetHealth:
    target_id: str
    port: int
    state: str = "initial"
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = REASONS["Elb.RegistrationInProgress"]
    passes: int = 0
    failures: int = 0
    drain_until: float | None = None
    checked: bool = False

    def describe(self) -> dict[str, object]:
        health: dict[str, object] = {"State": self.state}
        if self.reason:
            health["Reason"] = self.reason
            health["Description"] = self.description
        return {"Target": {"Id": self.target_id, "Port": self.port}, "HealthCheckPort": str(self.port), "TargetHealth": health}

    def _set(self, state: str, reason: str | None, code: int | None = None) -> None:
        self.state = state
        self.reason = reason
        self.description = REASONS[reason].format(code=code) if reason else None

    def record(self, result: CheckResult, healthy_threshold: int, unhealthy_threshold: int) -> bool:
        """Apply one health check's result; True when the state changed."""
        if self.state == "draining":
            return False
        before = self.state
        if not self.checked:
            self.checked = True
            if self.state == "initial":
                self._set("initial", "Elb.InitialHealthChecking")
        if result.ok:
            self.passes, self.failures = self.passes + 1, 0
            if self.state != "healthy" and self.passes >= healthy_threshold:
                self._set("healthy", None)
        else:
            self.passes, self.failures = 0, self.failures + 1
            if self.state != "unhealthy" and self.failures >= unhealthy_threshold:
                self._set("unhealthy", result.reason or "Target.FailedHealthChecks", result.code)
            elif self.state == "unhealthy":
                self._set("unhealthy", result.reason or "Target.FailedHealthChecks", result.code)
        return self.state != before

    def deregister(self, now: float, delay: float) -> None:
        self._set("draining", "Target.DeregistrationInProgress")
        self.drain_until = now + delay


@dataclass
class TargetGroupHealth:
    """All targets of one target group."""

    targets: dict[TargetKey, TargetHealth] = field(default_factory=dict)

    def register(self, target_id: str, port: int) -> TargetHealth:
        key = (target_id, port)
        current = self.targets.get(key)
        if current is None or current.state == "draining":
            current = TargetHealth(target_id, port)
            self.targets[key] = current
        return current

    def deregister(self, target_id: str, port: int, now: float, delay: float) -> TargetHealth | None:
        t = self.targets.get((target_id, port))
        if t is None or t.state == "draining":
            return None
        t.deregister(now, delay)
        return t

    def expire(self, now: float) -> list[TargetHealth]:
        """Targets whose deregistration delay is over: gone from the group."""
        done = [t for t in self.targets.values() if t.drain_until is not None and t.drain_until <= now]
        for t in done:
            del self.targets[(t.target_id, t.port)]
        return done

    def describe(self, wanted: list[TargetKey] | None = None) -> list[dict[str, object]]:
        if not wanted:
            return [t.describe() for t in self.targets.values()]
        out = []
        for tid, port in wanted:
            t = self.targets.get((tid, port)) or next((x for x in self.targets.values() if x.target_id == tid and port == 0), None)
            if t is not None:
                out.append(t.describe())
            else:
                out.append({
                    "Target": {"Id": tid, "Port": port}, "HealthCheckPort": str(port),
                    "TargetHealth": {"State": "unused", "Reason": "Target.NotRegistered", "Description": REASONS["Target.NotRegistered"]},
                })
        return out

    def routable(self) -> list[TargetHealth]:
        """Where new requests may go: healthy targets; with none healthy but some unhealthy,
        every unhealthy target (ALB fails open); initial and draining targets never."""
        healthy = [t for t in self.targets.values() if t.state == "healthy"]
        if healthy:
            return healthy
        return [t for t in self.targets.values() if t.state == "unhealthy"]
