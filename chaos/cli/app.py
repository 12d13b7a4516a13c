"""The command line's Typer app, its consoles, the options its commands share and how a command fails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from chaos.redaction import redact_urls
from cluster.endpoints import signallable_pid

app = typer.Typer(help="Spot-interruption chaos and resilience harness for model serving on Kubernetes.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
sim_app = typer.Typer(help="The local Spot EKS simulator.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
err = Console(stderr=True)
out = Console()

StateDir = Annotated[Path | None, typer.Option("--state-dir", help="Where the simulator writes kubeconfig and endpoints.json (default: per-user state dir).")]
def _log_format_choice(value: str) -> str:
    if value not in ("console", "json"):
        raise typer.BadParameter(f"console or json, not {value!r}")
    return value


def _pid_choice(value: int | None) -> int | None:
    if value is not None and not signallable_pid(value):
        raise typer.BadParameter(f"a process id above 1, not {value}")
    return value


LogFormat = Annotated[str, typer.Option("--log-format", help="console or json", callback=_log_format_choice)]
HistoryUrl = Annotated[str | None, typer.Option("--history", help="The run history: an SQLAlchemy URL, or off (default: $SPOTCHAOS_HISTORY, else SQLite in the user's data directory).")]
ReadHistoryUrl = Annotated[str | None, typer.Option("--history", help="The run history to read: an SQLAlchemy URL (default: $SPOTCHAOS_HISTORY, else SQLite in the user's data directory).")]


def fail(message: str, code: int = 3) -> None:
    """One line naming the problem (the message is text, never markup: it may quote user input)."""
    err.print(f"[red]error:[/red] {escape(redact_urls(message))}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def writable(path: Path) -> bool:
    """Whether a file can be written at `path` (checked before work whose results go there)."""
    # os.path's tests answer False for names the system cannot look up (too long), pathlib's raise
    if os.path.lexists(path):
        return os.path.isfile(path) and os.access(path, os.W_OK)
    parent = path.parent if str(path.parent) else Path(".")
    return os.path.isdir(parent) and os.access(parent, os.W_OK)


ProfileName = Annotated[str, typer.Option("--profile", help="seed (the walkthrough's cluster), hardened (made Spot-ready: NTH, Cluster Autoscaler, "
                                                           "PDB), managed (EKS managed Spot node groups), karpenter (Karpenter with its interruption queue), "
                                                           "or a profile YAML file")]
Target = Annotated[str, typer.Option("--target", help="local (the running simulator) or eks")]
ClusterName = Annotated[str | None, typer.Option("--name", help="Cluster name (default TensorFlowServingCluster)")]


KubeContext = Annotated[str | None, typer.Option("--context", help="eks: kubeconfig context (default: the current one).")]
KubeconfigFile = Annotated[str | None, typer.Option("--kubeconfig", help="eks: kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")]
Region = Annotated[str | None, typer.Option("--region", help="eks: AWS region (default: $AWS_REGION).")]


ExperimentFile = Annotated[Path, typer.Argument(help="An experiment YAML (see experiments/ and docs/experiment.md).")]
