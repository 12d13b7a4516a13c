"""Machine-readable output, as kubectl's `-o`: `json` or `yaml` print one document whose shape
docs/schemas/<kind>.schema.json fixes (stable field names; `apiVersion` and `kind` first), `wide`
prints a table's long form, the default its short form.  Exit codes do not change with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

API_VERSION = "spotchaos.dev/v1"
FORMATS = ("table", "wide", "json", "yaml")
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def _format(value: str | None) -> str:
    if value is None:
        return "table"
    if value not in FORMATS:
        raise typer.BadParameter(f"'{value}': use one of {', '.join(FORMATS)} (as kubectl's -o)")
    return value


OutputFormat = Annotated[str | None, typer.Option("-o", "--output", callback=_format, metavar="FORMAT",
                                                  help="table (default), wide (every column), json or yaml: one document, its schema in docs/schemas/")]


def machine(fmt: str | None) -> bool:
    return fmt in ("json", "yaml")


def document(kind: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, **fields}


def emit(doc: dict[str, Any], fmt: str) -> None:
    """Print the document on stdout, plain (no colour, no wrapping): for pipes and files."""
    text = json.dumps(doc, indent=2, default=str) + "\n" if fmt == "json" else yaml.safe_dump(json.loads(json.dumps(doc, default=str)), sort_keys=False)
    typer.echo(text, nl=False)
