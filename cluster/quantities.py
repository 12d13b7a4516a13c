"""Kubernetes resource quantities (cpu "250m", memory "2Gi") as numbers (pure)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_SUFFIX = {
    "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}


def parse_quantity(value: str | int | float) -> Decimal:
    if isinstance(value, int | float):
        return Decimal(str(value))
    s = value.strip()
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if s.endswith(suffix) and s[: -len(suffix)]:
            try:
                return Decimal(s[: -len(suffix)]) * Decimal(_SUFFIX[suffix])
            except InvalidOperation:
                break
    try:
        return Decimal(s)
    except InvalidOperation as exc:
        raise ValueError(f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value!r}") from exc


def millicores(value: str | int | float) -> int:
    return int(parse_quantity(value) * 1000)


def bytes_of(value: str | int | float) -> int:
    return int(parse_quantity(value))


def format_millicores(m: int) -> str:
    return f"{m // 1000}" if m % 1000 == 0 else f"{m}m"


def format_bytes_ki(b: int) -> str:
    return f"{b // 1024}Ki"
