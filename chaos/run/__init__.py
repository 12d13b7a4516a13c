"""A run of one experiment, as a small package: its context and state (context.py), connecting
and its checks (connect.py), the cluster and its observers (setup.py), the faults (injections.py),
rollback as its own step runner (rollback.py), the life cycle that ties them (lifecycle.py), the
game day's go/no-go gates (go_no_go.py, gates.py), and what a run is known by outside its process:
its id and report directory (identity.py), the registry of live runs (registry.py) and where its
results go (results.py).

The names below are loaded when first asked for, so that a command that needs only a run's
identity (`spotchaos cleanup`, `watch`) does not load the whole life cycle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaos.run.context import Phase, RunContext, RunOptions, RunState, ServiceRef
    from chaos.run.lifecycle import Run, run_experiment

__all__ = ["Phase", "Run", "RunContext", "RunOptions", "RunState", "ServiceRef", "run_experiment"]
_FROM = {"Phase": "context", "RunContext": "context", "RunOptions": "context", "RunState": "context", "ServiceRef": "context",
         "Run": "lifecycle", "run_experiment": "lifecycle"}


def __getattr__(name: str) -> Any:
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module 'chaos.run' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"chaos.run.{module}"), name)
