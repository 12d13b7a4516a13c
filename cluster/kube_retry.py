"""One retry policy for Kubernetes API calls made by provisioning and teardown (tenacity): a 429
waits what its Retry-After says (as client-go does), a 5xx or a dropped connection backs off
exponentially; at most 8 tries within a minute.  Anything else (a 4xx that is the request's
fault) is not retried.  Each retry is logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from cluster.retry_tally import TALLY

log = structlog.get_logger("kube.retry")
T = TypeVar("T")
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 10.0


def _api_exceptions(exc: BaseException) -> list[BaseException]:
    """An ApiException, or those a kubernetes.utils FailToCreateError wraps."""
    return list(getattr(exc, "api_exceptions", None) or [exc])


def transient(exc: BaseException) -> bool:
    from urllib3.exceptions import HTTPError as Urllib3Error

    if isinstance(exc, Urllib3Error | ConnectionError):
        return True
    return any(getattr(e, "status", None) in RETRIED_STATUSES for e in _api_exceptions(exc))


def retry_after(exc: BaseException) -> float | None:
    for e in _api_exceptions(exc):
        headers = getattr(e, "headers", None) or {}
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
        if value is not None:
            try:
                return min(MAX_RETRY_AFTER, max(0.0, float(value)))
            except ValueError:
                return None
    return None


_backoff = wait_exponential(multiplier=0.2, max=5)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome is not None else None
    told = retry_after(exc) if exc is not None else None
    return told if told is not None else _backoff(state)


def _log(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    TALLY.add("kubernetes")
    log.info("kube_retry", attempt=state.attempt_number, error=f"{type(exc).__name__}: {str(exc)[:160]}")


kube_retry = retry(retry=retry_if_exception(transient), stop=stop_after_attempt(8) | stop_after_delay(60), wait=_wait, before_sleep=_log, reraise=True)


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(*args, **kwargs) under the policy."""
    return kube_retry(fn)(*args, **kwargs)
