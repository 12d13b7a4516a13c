"""One line naming the API a call failed against, for an error the retries could not get past:
the Kubernetes API (its status and message), an AWS operation (its error code and message), or
the endpoint that could not be reached.  The adapters word their own SDK's errors; this joins
them.  Pure: an exception in, a line out."""

from __future__ import annotations

from chaos.aws import errors as aws_errors
from chaos.kube import errors as kube_errors


def _first_line(text: str, limit: int = 300) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe(exc: BaseException) -> str:
    said = kube_errors.describe(exc) or aws_errors.describe(exc)
    return _first_line(said or f"{type(exc).__name__}: {exc}")


def sdk_errors() -> tuple[type[BaseException], ...]:
    """The SDKs' error classes, for callers that catch them without importing the SDKs."""
    return (*aws_errors.errors(), *kube_errors.errors())
