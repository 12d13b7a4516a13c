"""botocore's errors as one line naming the AWS operation (its status, error code and message) or
the endpoint that could not be reached.  Pure: an exception in, a line (or None: not botocore's) out."""

from __future__ import annotations


def describe(exc: BaseException) -> str | None:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"AWS {exc.operation_name} answered {status or ''} {err.get('Code', '')}, retries exhausted: {err.get('Message', '')}".replace("  ", " ")
    if isinstance(exc, EndpointConnectionError):
        return f"the AWS endpoint could not be reached, retries exhausted: {exc}"
    if isinstance(exc, BotoCoreError):
        return f"an AWS call failed, retries exhausted: {type(exc).__name__}: {exc}"
    return None


def errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)
