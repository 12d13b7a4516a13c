"""How Go programs (NTH, Cluster Autoscaler) read values: strconv.ParseBool, strconv.Atoi and
time.ParseDuration, with Go's exact accepted forms (no trimming, no Python-only spellings)."""

from __future__ import annotations

import re

# strconv.ParseBool (go/src/strconv/atob.go): exactly these spellings
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_ATOI = re.compile(r"[+-]?[0-9]+")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_bool(value: str) -> bool:
    """strconv.ParseBool; ValueError for anything else (" true", "yes", "tRue")."""
    if value in GO_TRUE:
        return True
    if value in GO_FALSE:
        return False
    raise ValueError(f"'{value}' is not a Go boolean (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)")


def atoi(value: str) -> int:
    """strconv.Atoi: an optional sign and decimal digits only (no spaces, no underscores)."""
    if not _ATOI.fullmatch(value):
        raise ValueError(f"'{value}' is not a whole number")
    return int(value)


def parse_duration(value: str) -> float:
    """time.ParseDuration in seconds: 10s, 15m, 1h30m, 500ms, 1.5h; '0' alone needs no unit."""
    text = value
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-") if text[:1] in "+-" else text
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueError(f"'{value}' is not a duration such as 10s, 15m or 1h")
    return sign * total
