"""Posting a notification to an incoming webhook (Slack, Teams or any receiver of JSON): a POST
with a short timeout, retried with backoff on connection errors, 429 and 5xx; the answer of a
receiver that refuses it is one line."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlparse

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from chaos.errors import ChaosError

TIMEOUT = 10.0


class WebhookInputError(ChaosError):
    """--notify is not an http(s) URL."""


class WebhookFailed(ChaosError):
    """The receiver could not be reached or refused the post, after the retries."""


def check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        shown = url if len(url) <= 80 else url[:77] + "..."
        raise WebhookInputError(f"--notify: {shown!r} is not an http(s) URL; give the webhook's URL, e.g. https://hooks.slack.com/services/...")
    return url


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 429 or exc.code >= 500
    return isinstance(exc, urllib.error.URLError | TimeoutError | ConnectionError)


def post_json(url: str, payload: dict[str, Any], attempts: int = 4) -> int:
    """The receiver's HTTP status; WebhookFailed after `attempts` tries (never names the URL's
    path or query: webhook URLs carry their secret there)."""
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "spotchaos"})

    @retry(retry=retry_if_exception(_retryable), stop=stop_after_attempt(attempts), wait=wait_exponential(multiplier=0.5, max=5), reraise=True)
    def send() -> int:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:  # noqa: S310 - the URL was checked to be http(s)
            return int(resp.status)

    host = urlparse(url).netloc
    try:
        return send()
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"the webhook at {host} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookFailed(f"the webhook at {host} could not be reached after {attempts} tries: {reason}") from None
