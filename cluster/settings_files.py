"""Reading settings the user wrote: a YAML file that must hold a mapping, and the first problem
pydantic found, as a field path and a message for one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cluster.user_yaml import YamlProblem, load_file


def load_mapping(path: Path, what: str, error: type[ValueError]) -> dict[str, Any]:
    """The YAML mapping in `path`; `error` naming the file for anything else."""
    try:
        loaded = load_file(path) or {}
    except YamlProblem as exc:
        raise error(f"{path}: the {what} {exc}" if str(exc).startswith(("is ", "cannot")) else f"{path}: {exc}") from None
    if not isinstance(loaded, dict):
        raise error(f"{path}: the {what} must be a mapping of settings")
    return loaded


def first_problem(exc: ValidationError, default_field: str = "body") -> tuple[str, str, Any]:
    """(dotted field path, message, the value given) of the first error."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or default_field
    return field, str(first["msg"]).removeprefix("Value error, "), first.get("input")
