"""One line naming the API a call failed against, for an error the retries could not get past:
the Kubernetes API (its status and message), an AWS operation (its error code and message), or
the endpoint that could not be reached.  Pure: an exception in, a line out."""

from __future__ import annotations

import json


def _first_line(text: str, limit: int = 300) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe(exc: BaseException) -> str:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error

    if isinstance(exc, ApiException):
        message = ""
        try:
            message = str(json.loads(exc.body or "{}").get("message") or "")
        except (ValueError, AttributeError):
            message = str(exc.body or "")
        return _first_line(f"the Kubernetes API answered {exc.status} {exc.reason or ''}, retries exhausted: {message}".rstrip(": "))
    if isinstance(exc, Urllib3Error):
        return _first_line(f"the Kubernetes API could not be reached, retries exhausted: {type(exc).__name__}: {exc}")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return _first_line(f"AWS {exc.operation_name} answered {status or ''} {err.get('Code', '')}, retries exhausted: {err.get('Message', '')}".replace("  ", " "))
    if isinstance(exc, EndpointConnectionError):
        return _first_line(f"the AWS endpoint could not be reached, retries exhausted: {exc}")
    if isinstance(exc, BotoCoreError):
        return _first_line(f"an AWS call failed, retries exhausted: {type(exc).__name__}: {exc}")
    return _first_line(f"{type(exc).__name__}: {exc}")


def sdk_errors() -> tuple[type[BaseException], ...]:
    """The SDKs' error classes, for callers that catch them without importing the SDKs."""
    from botocore.exceptions import BotoCoreError, ClientError
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error

    return (BotoCoreError, ClientError, ApiException, Urllib3Error)
