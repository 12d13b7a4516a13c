"""A run of one experiment, as a small package: its context and state (context.py), connecting
and its checks (connect.py), the cluster and its observers (setup.py), the faults (injections.py),
rollback as its own step runner (rollback.py), and the life cycle that ties them (lifecycle.py)."""

from chaos.run.context import Phase, RunContext, RunOptions, RunState, ServiceRef
from chaos.run.lifecycle import Run, run_experiment

__all__ = ["Phase", "Run", "RunContext", "RunOptions", "RunState", "ServiceRef", "run_experiment"]
