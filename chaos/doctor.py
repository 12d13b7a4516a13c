"""`spotchaos doctor`: where the objects to check come from (a manifests directory, a profile,
or a running cluster) and how findings are shown (a rich table or JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from chaos.errors import shown
from cluster.doctor import Finding, NodeGroupFacts, diagnose
from cluster.eksctl import node_group_facts
from cluster.endpoints import Endpoints
from cluster.user_yaml import YamlProblem, read_limited

Obj = dict[str, Any]
WIDE_TABLE = 140  # columns below which the six-column table wraps into unreadable slivers


class DoctorInputError(ValueError):
    """The input cannot be read; one line naming the file or source."""


def from_cluster(endpoints: Endpoints) -> tuple[list[Obj], list[NodeGroupFacts]]:
    """The objects doctor reads, listed from the cluster's Kubernetes API, and the node groups, from its ASGs."""
    from chaos.aws.node_groups import node_groups
    from chaos.kube.cluster_objects import cluster_objects

    return cluster_objects(endpoints), node_groups(endpoints)


MAX_FILES_LOOKED_AT = 5000  # a manifests directory, not a file system


def manifest_files(directory: Path) -> list[Path]:
    """The YAML and JSON files under `directory`, without following links; refused when the
    directory holds far more files than a cluster's manifests (`--manifests /`, a home directory)."""
    found, seen = [], 0
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        seen += len(files) + len(dirs)
        if seen > MAX_FILES_LOOKED_AT:
            raise DoctorInputError(f"--manifests {shown(str(directory))}: more than {MAX_FILES_LOOKED_AT} files below it; "
                                   "give the directory that holds the cluster's manifests")
        found += [Path(root) / f for f in files if os.path.splitext(f)[1] in (".yaml", ".yml", ".json")]
    return sorted(found)


def from_manifests(directory: Path) -> tuple[list[Obj], list[NodeGroupFacts] | None]:
    if not os.path.isdir(directory):
        raise DoctorInputError(f"--manifests {shown(str(directory))}: not a directory of YAML or JSON manifests")
    objects: list[Obj] = []
    groups: list[NodeGroupFacts] | None = None
    for path in manifest_files(directory):
        try:
            docs = list(yaml.safe_load_all(read_limited(path)))
        except YamlProblem as exc:
            raise DoctorInputError(f"{path}: {exc}") from None
        except (yaml.YAMLError, RecursionError) as exc:
            raise DoctorInputError(f"{path}: cannot read it as YAML: {(str(exc).splitlines() or ['too deeply nested'])[0]}") from None
        except (ValueError, OverflowError) as exc:  # an impossible date such as 2024-13-45, unquoted
            raise DoctorInputError(f"{path}: a value reads as an impossible date or number ({str(exc)[:100]}); quote it") from None
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            if doc.get("kind") == "List":
                objects.extend(i for i in doc.get("items") or [] if isinstance(i, dict))
            elif doc.get("kind") == "ClusterConfig":
                groups = (groups or []) + node_group_facts(doc)
            elif doc.get("kind"):
                objects.append(doc)
    return objects, groups


def run(objects: list[Obj], groups: list[NodeGroupFacts] | None) -> list[Finding]:
    return diagnose(objects, groups)


def show(findings: list[Finding], console: Console, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps({"findings": [f.as_dict() for f in findings],
                                       "errors": sum(f.level == "error" for f in findings), "warnings": sum(f.level == "warning" for f in findings)}))
        return
    if not findings:
        console.print("[green]no findings: Spot-ready as far as the manifests show[/green]")
        return
    ordered = sorted(findings, key=lambda f: (f.level != "error", f.check))
    if console.width < WIDE_TABLE:
        _blocks(ordered, console)
        return
    table = Table(title="Spot-readiness findings", show_lines=True)
    for col in ("level", "check", "subject", "problem", "why it matters", "fix"):
        table.add_column(col, overflow="fold")
    for f in ordered:
        table.add_row(_level(f), escape(f.check), escape(f.subject), escape(f.problem), escape(f.why), escape(f.fix))
    console.print(table)


def _level(f: Finding) -> str:
    return "[red]error[/red]" if f.level == "error" else "[yellow]warning[/yellow]"


def _blocks(findings: list[Finding], console: Console) -> None:
    """One block per finding: readable in an 80-column terminal, where the table would wrap."""
    for f in findings:
        console.print(f"{_level(f)} [bold]{escape(f.check)}[/bold]  {escape(f.subject)}", soft_wrap=False)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, text in (("problem", f.problem), ("why", f.why), ("fix", f.fix)):
            grid.add_row(label, escape(text))
        console.print(Padding(grid, (0, 0, 0, 2)))
        console.print()
    errors = sum(f.level == "error" for f in findings)
    console.print(f"{errors} errors, {len(findings) - errors} warnings")
