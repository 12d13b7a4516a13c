"""The checks an experiment's hypotheses name, one module each: its parameters (a model whose
`check` literal names it), its judge and what it reads.  The spec's union of hypotheses, the JSON
Schema, the lists of checks and the verdict all come from `CHECK_TYPES`, read from the modules
named here: a new check is its module and one line below (docs/extending.md)."""

from __future__ import annotations

from importlib import import_module

from chaos.checks.base import Check

MODULES = (
    "cordoned_within",
    "tainted_within",
    "drained_before_reclaim",
    "targets_draining_before_reclaim",
    "targets_deregistered_before_reclaim",
    "targets_unhealthy_within",
    "replacement_ready_within",
    "replicas_restored_within",
    "min_ready_replicas",
    "error_rate",
    "window_error_rate",
    "error_window",
    "p99_latency",
    "error_budget",
    "load_shards_held",
    "replacement_ready_before_reclaim",
    "one_termination_handler",
    "pods_pending_within",
)


def _check_of(module_name: str) -> type[Check]:
    """The one check a module defines (its class deriving from Check, with its own `check` literal)."""
    module = import_module(f"chaos.checks.{module_name}")
    found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Check) and v.__module__ == module.__name__]
    if len(found) != 1:
        raise TypeError(f"chaos.checks.{module_name} must define one check, not {len(found)}")
    return found[0]


CHECK_TYPES: tuple[type[Check], ...] = tuple(_check_of(m) for m in MODULES)

__all__ = ["CHECK_TYPES", "MODULES", "Check"]
