"""Reading settings the user wrote: a YAML file that must hold a mapping, and the first problem
pydantic found, as a field path and a message for one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


def load_mapping(path: Path, what: str, error: type[ValueError]) -> dict[str, Any]:
    """The YAML mapping in `path`; `error` naming the file for anything else."""
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise error(f"{path}: not valid YAML: {exc.problem}{where}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read the {what}: {exc}") from None
    if not isinstance(loaded, dict):
        raise error(f"{path}: the {what} must be a mapping of settings")
    return loaded


def first_problem(exc: ValidationError, default_field: str = "body") -> tuple[str, str, Any]:
    """(dotted field path, message, the value given) of the first error."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or default_field
    return field, str(first["msg"]).removeprefix("Value error, "), first.get("input")
