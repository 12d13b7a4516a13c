"""What never reaches a log, a journal or a terminal: secrets.  Values under secret-sounding keys,
and the userinfo of URLs (`https://user:PASSWORD@host/...`, a webhook's or a database's)."""

from __future__ import annotations

import re
from typing import Any

SECRET_KEYS = re.compile(r"(secret|password|token|credential|access_key)", re.I)
# scheme://userinfo@ : the userinfo may hold a password; the host and the rest stay readable
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s\"'<>]+@")
REDACTED = "***"


def redact_urls(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by ***."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text) if "@" in text else text


def redact_value(value: Any) -> Any:
    """A value as it may be shown: strings with their URLs' userinfo redacted, containers walked."""
    if isinstance(value, str):
        return redact_urls(value)
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and SECRET_KEYS.search(k) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value
