"""boto3 clients for a run: short timeouts (a poll that hangs would blind an observer for botocore's
default minute), botocore's standard retries, and each retry that then succeeded counted per
service in the run's retry tally."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from cluster.endpoints import Endpoints
from cluster.retry_tally import TALLY

CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


def client(endpoints: Endpoints, service: str) -> Any:
    made = boto3.client(service, config=CONFIG, **endpoints.aws_client_kwargs())
    made.meta.events.register("after-call", _count_retries)
    return made


def plain_client(endpoints: Endpoints, service: str) -> Any:
    """A client with botocore's defaults, for one-off reads outside a run."""
    return boto3.client(service, **endpoints.aws_client_kwargs())


def _count_retries(parsed: Any = None, model: Any = None, **_: Any) -> None:
    """botocore's own retries (standard mode) of a call that then succeeded."""
    attempts = ((parsed or {}).get("ResponseMetadata") or {}).get("RetryAttempts") or 0
    if attempts and model is not None:
        TALLY.add(f"aws {model.service_model.service_name}", int(attempts))
