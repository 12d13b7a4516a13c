"""The kubernetes client's errors as one line naming the Kubernetes API's answer (status and
message) or saying it could not be reached.  Pure: an exception in, a line (or None: not the
client's) out."""

from __future__ import annotations

import json


def describe(exc: BaseException) -> str | None:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error

    if isinstance(exc, ApiException):
        message = ""
        try:
            message = str(json.loads(exc.body or "{}").get("message") or "")
        except (ValueError, AttributeError):
            message = str(exc.body or "")
        return f"the Kubernetes API answered {exc.status} {exc.reason or ''}, retries exhausted: {message}".rstrip(": ")
    if isinstance(exc, Urllib3Error):
        return f"the Kubernetes API could not be reached, retries exhausted: {type(exc).__name__}: {exc}"
    return None


def errors() -> tuple[type[BaseException], ...]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error

    return (ApiException, Urllib3Error)
