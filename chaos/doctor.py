"""`spotchaos doctor`: where the objects to check come from (the user's files as the twin reads
them, a profile, or a running cluster) and how findings are shown (a rich table or JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from cluster.doctor import Finding, NodeGroupFacts, diagnose
from cluster.eksctl import node_group_facts
from cluster.endpoints import Endpoints
from cluster.twin.inputs import TwinInputError, read_inputs

Obj = dict[str, Any]
WIDE_TABLE = 140  # columns below which the six-column table wraps into unreadable slivers


DoctorInputError = TwinInputError  # an input that cannot be read: one line naming the file


def from_cluster(endpoints: Endpoints) -> tuple[list[Obj], list[NodeGroupFacts]]:
    """The objects doctor reads, listed from the cluster's Kubernetes API, and the node groups, from its ASGs."""
    from chaos.aws.node_groups import node_groups
    from chaos.kube.cluster_objects import cluster_objects

    return cluster_objects(endpoints), node_groups(endpoints)


def from_inputs(manifests: Sequence[Path] = (), eksctl: Path | None = None, kustomize: Sequence[Path] = ()) -> tuple[list[Obj], list[NodeGroupFacts] | None]:
    """The objects and node groups doctor reads from the user's files, as the twin reads them
    (cluster/twin/inputs.py): manifests, an eksctl ClusterConfig (given, or among the manifests)
    and kustomize builds.  No ClusterConfig: no node groups to check."""
    sources = read_inputs(eksctl, manifests, kustomize)
    groups = [g for c in sources.cluster_configs for g in node_group_facts(c.obj)]
    return sources.plain(), groups if sources.cluster_configs else None


def from_profile(profile: str) -> tuple[list[Obj], list[NodeGroupFacts]]:
    """A profile's rendered objects and its node groups, as provisioning would make them."""
    from chaos import provisioning as p

    cluster = p.resolve(profile, None)
    return p.render(cluster), [NodeGroupFacts(s.name, tuple(s.instance_types), s.spot, s.max_size, s.tags()) for s in p.node_group_specs(cluster)]


def run(objects: list[Obj], groups: list[NodeGroupFacts] | None) -> list[Finding]:
    return diagnose(objects, groups)


def summary(findings: list[Finding]) -> dict[str, Any]:
    """The findings as `doctor -o json` prints them."""
    return {"findings": [f.as_dict() for f in findings], "errors": sum(f.level == "error" for f in findings),
            "warnings": sum(f.level == "warning" for f in findings)}


def show(findings: list[Finding], console: Console) -> None:
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
