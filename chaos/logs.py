"""structlog set-up for the CLI: console or JSON lines on stderr; secrets are redacted."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from chaos.redaction import REDACTED, SECRET_KEYS, redact_value


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        event[key] = REDACTED if SECRET_KEYS.search(key) else redact_value(event[key])
    return event


class _StderrLogger:
    """Writes each line to the sys.stderr of the moment: a test runner or an embedding program
    may swap the stream after logging was configured (a logger bound to the old one would write
    to a closed file)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = err = critical = exception = fatal = failure = log = msg


def configure(fmt: str = "console", level: str = "info") -> None:
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=lambda *_: _StderrLogger(),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for noisy in ("werkzeug", "aiohttp.access", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
