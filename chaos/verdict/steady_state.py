"""The run's guards, pure: whether the steady state holds (before injecting and after the traffic
stopped) and whether a stop condition is breached.  The run feeds them what its folds hold."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from chaos.journal.records import DeploymentRecord
from chaos.spec import StopCondition

DEFAULT_ERROR_LIMIT = 0.05  # the warm-up's error rate when no error-rate hypothesis gives one


def steady_state_problems(before: bool, deployment: DeploymentRecord | None, requests: int, error_rate: float, limit: float) -> list[str]:
    """What breaks the steady state: the serving Deployment short of Ready replicas and, over the
    warm-up (`before`), no request answered or an error rate above `limit`."""
    problems = []
    if deployment is None or deployment.ready < deployment.desired:
        problems.append(f"serving replicas Ready {deployment.ready if deployment else 0}/{deployment.desired if deployment else '?'}")
    if before and requests and error_rate > limit:
        problems.append(f"error rate {error_rate:.2%} over the warm-up is above {limit:.2%}")
    if before and not requests:
        problems.append("no request was answered during the warm-up")
    return problems


def stop_condition_breach(conditions: Iterable[StopCondition], recent_rate: Callable[[float], tuple[float, int]]) -> str | None:
    """The first error-rate stop condition the recent traffic breaks, as the abort's reason;
    `recent_rate(window)` gives (error rate, requests) over the last `window` cluster seconds."""
    for c in conditions:
        if c.error_rate is None:
            continue
        rate, n = recent_rate(c.window)
        if n and rate > c.error_rate:
            return f"stop condition: error rate {rate:.2%} over the last {c.window:g}s is above {c.error_rate:.2%}"
    return None
