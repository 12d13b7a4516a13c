"""Posting a notification to an incoming webhook (Slack, Teams or any receiver of JSON): a POST
with a short timeout, retried with backoff on connection errors, 429 and 5xx; the answer of a
receiver that refuses it is one line."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlparse, urlsplit, urlunsplit

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from chaos.errors import ChaosError
from chaos.redaction import redact_urls

TIMEOUT = 10.0


class WebhookInputError(ChaosError):
    """--notify is not an http(s) URL."""


class WebhookFailed(ChaosError):
    """The receiver could not be reached or refused the post, after the retries."""


def check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        shown = redact_urls(url if len(url) <= 80 else url[:77] + "...")
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
    headers = {"Content-Type": "application/json", "User-Agent": "spotchaos"}
    parts = urlsplit(url)
    if parts.username is not None:  # userinfo is HTTP Basic auth, sent as its header (urllib would take it for the host)
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)

    @retry(retry=retry_if_exception(_retryable), stop=stop_after_attempt(attempts), wait=wait_exponential(multiplier=0.5, max=5), reraise=True)
    def send() -> int:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:  # noqa: S310 - the URL was checked to be http(s)
            return int(resp.status)

    host = urlparse(url).hostname or "?"  # never the userinfo: it may hold a password
    try:
        return send()
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"the webhook at {host} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookFailed(f"the webhook at {host} could not be reached after {attempts} tries: {redact_urls(str(reason))}") from None
