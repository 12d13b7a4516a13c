"""Injections: Spot interruptions, rebalance recommendations, capacity errors, instance loss and AZ
power interruptions through FIS, the instances' metadata (the local simulator's metadata mock) or
EventBridge events on NTH's queue.
One module per injector; the run finds them here by (via, kind)."""

from __future__ import annotations

from chaos.errors import SpecError
from chaos.inject.az_power import FisAzPowerInterruption
from chaos.inject.base import FireContext, Injector
from chaos.inject.fis_capacity import FisCapacityError
from chaos.inject.fis_spot import FisSpotInterruption
from chaos.inject.instance_loss import FisInstanceLoss
from chaos.inject.metadata_notice import MetadataNotice
from chaos.inject.queue_event import QueueEvent
from chaos.spec import Injection

__all__ = ["INJECTORS", "FireContext", "Injector", "injector_for"]

INJECTORS: dict[tuple[str, str], Injector] = {
    ("fis", "spot-interruption"): FisSpotInterruption(),
    ("fis", "capacity-error"): FisCapacityError(),
    ("fis", "instance-loss"): FisInstanceLoss(),
    ("fis", "az-power-interruption"): FisAzPowerInterruption(),
    ("metadata", "spot-interruption"): MetadataNotice(),
    ("metadata", "rebalance"): MetadataNotice(),
    ("sqs", "spot-interruption"): QueueEvent(),
    ("sqs", "rebalance"): QueueEvent(),
}


def injector_for(inj: Injection) -> Injector:
    found = INJECTORS.get((inj.via, inj.kind))
    if found is None:
        valid = ", ".join(f"{kind} via {via}" for via, kind in INJECTORS)
        raise SpecError(f"no injector for {inj.kind} via {inj.via}; there are: {valid}")
    return found
