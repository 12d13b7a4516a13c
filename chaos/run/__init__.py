"""A run of one experiment, as a small package: its context and state (context.py), connecting
and its checks (connect.py), the cluster and its observers (setup.py), the faults (injections.py),
rollback as its own step runner (rollback.py), the life cycle that ties them (lifecycle.py), the
game day's go/no-go gates (go_no_go.py, gates.py), the versions of the parts it ran against
(component_versions.py) and where its results go (results.py).  A run's identity
(`chaos.identity`) and the registry of live runs (`chaos.live_runs`) sit below, for cleanup and
the in-cluster runner.

The names below are loaded when first asked for, so that importing one module of the package
does not load the whole life cycle."""

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
