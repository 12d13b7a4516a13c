"""Spot and on-demand capacity pools (instance type x AZ) and how Auto Scaling picks from them (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class CapacityPools:
    """Spare instances per (instance type, AZ); a pool at 0 answers InsufficientInstanceCapacity."""

    default_spare: int = 200
    spare: dict[tuple[str, str], int] = field(default_factory=dict)

    def available(self, itype: str, az: str) -> int:
        return self.spare.get((itype, az), self.default_spare)

    def take(self, itype: str, az: str) -> None:
        self.spare[(itype, az)] = self.available(itype, az) - 1

    def give_back(self, itype: str, az: str) -> None:
        self.spare[(itype, az)] = self.available(itype, az) + 1

    def set(self, itype: str, az: str, spare: int) -> None:
        self.spare[(itype, az)] = max(0, spare)


@dataclass(frozen=True)
class LaunchChoice:
    instance_type: str
    az: str
    spot: bool


def on_demand_target(desired: int, base: int, percent_above_base: int) -> int:
    """How many of `desired` instances an InstancesDistribution wants on-demand."""
    if desired <= base:
        return desired
    return base + math.ceil((desired - base) * percent_above_base / 100)


def choose_pool(
    types: Sequence[str],
    azs: Sequence[str],
    in_service_by_az: Mapping[str, int],
    pools: CapacityPools,
    strategy: str,
    excluded: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[str, str] | None:
    """Balance across AZs first (as Auto Scaling does), then pick a pool inside the AZ.

    capacity-optimized / price-capacity-optimized: the pool with the most spare capacity;
    lowest-price / prioritized: the first type in the override order that has capacity.
    """
    for az in sorted(azs, key=lambda a: (in_service_by_az.get(a, 0), list(azs).index(a))):
        candidates = [t for t in types if pools.available(t, az) > 0 and (t, az) not in excluded]
        if not candidates:
            continue
        if strategy in ("capacity-optimized", "capacity-optimized-prioritized", "price-capacity-optimized"):
            best = max(candidates, key=lambda t: (pools.available(t, az), -list(types).index(t)))
        else:
            best = candidates[0]
        return best, az
    return None
