"""The faults an experiment injects, one module each: its options (a model whose `kind` literal
names it, deriving from `Fault`), its rules and its injectors by way in (FIS, the instances'
metadata, EventBridge events on NTH's queue).  The spec's union of injections, the JSON Schema and
the injector for each (via, kind) come from `FAULT_TYPES`, read from the modules named here: a new
fault is its module and one line below (docs/extending.md)."""

from __future__ import annotations

from importlib import import_module
from typing import get_args

from chaos.errors import SpecError
from chaos.inject.base import FireContext, Injector
from chaos.inject.fault import Fault

MODULES = (
    "spot_interruption",
    "rebalance",
    "capacity_error",
    "instance_loss",
    "az_power_interruption",
    "instance_stop",
)


def _fault_of(module_name: str) -> type[Fault]:
    """The one fault a module defines (its class deriving from Fault, with its own `kind` literal)."""
    module = import_module(f"chaos.inject.{module_name}")
    found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Fault) and v.__module__ == module.__name__]
    if len(found) != 1:
        raise TypeError(f"chaos.inject.{module_name} must define one fault, not {len(found)}")
    return found[0]


FAULT_TYPES: tuple[type[Fault], ...] = tuple(_fault_of(m) for m in MODULES)
KINDS: tuple[str, ...] = tuple(get_args(f.model_fields["kind"].annotation)[0] for f in FAULT_TYPES)
DEFAULT_KIND = "spot-interruption"
INJECTORS: dict[tuple[str, str], Injector] = {(via, kind): injector for kind, f in zip(KINDS, FAULT_TYPES, strict=True) for via, injector in f.injectors.items()}

__all__ = ["DEFAULT_KIND", "FAULT_TYPES", "INJECTORS", "KINDS", "Fault", "FireContext", "Injector", "injector_for"]


def injector_for(inj: Fault) -> Injector:
    found = INJECTORS.get((inj.via, inj.kind))
    if found is None:
        valid = ", ".join(f"{kind} via {via}" for via, kind in INJECTORS)
        raise SpecError(f"no injector for {inj.kind} via {inj.via}; there are: {valid}")
    return found
