from __future__ import annotations

import pytest

from cluster.instance_types import allocatable, lookup
from cluster.sim.aws.capacity_pools import CapacityPools, choose_pool, on_demand_target

AZS = ("us-east-1a", "us-east-1b")


def test_capacity_optimized_balances_azs_then_takes_the_deepest_pool():
    pools = CapacityPools(default_spare=10, spare={("m5.xlarge", "us-east-1a"): 2, ("m4.xlarge", "us-east-1a"): 30})
    assert choose_pool(["m5.xlarge", "m4.xlarge"], AZS, {"us-east-1a": 0, "us-east-1b": 1}, pools, "capacity-optimized") == ("m4.xlarge", "us-east-1a")
    assert choose_pool(["m5.xlarge", "m4.xlarge"], AZS, {"us-east-1a": 0}, pools, "lowest-price") == ("m5.xlarge", "us-east-1a")


def test_empty_pools_move_to_another_az_or_fail():
    pools = CapacityPools(default_spare=0, spare={("m5.xlarge", "us-east-1b"): 1})
    assert choose_pool(["m5.xlarge"], AZS, {}, pools, "capacity-optimized") == ("m5.xlarge", "us-east-1b")
    pools.take("m5.xlarge", "us-east-1b")
    assert choose_pool(["m5.xlarge"], AZS, {}, pools, "capacity-optimized") is None
    blocked = frozenset({("m5.xlarge", "us-east-1b")})
    assert choose_pool(["m5.xlarge"], AZS, {}, CapacityPools(5), "capacity-optimized", blocked) == ("m5.xlarge", "us-east-1a")


def test_instances_distribution():
    assert on_demand_target(10, 0, 0) == 0
    assert on_demand_target(10, 2, 50) == 6
    assert on_demand_target(1, 2, 0) == 1


def test_eks_allocatable_matches_the_ami_reservations():
    cpu, mem = allocatable(lookup("m5.xlarge"))
    assert cpu == 3920
    assert mem == (16384 - 255 - 11 * 58 - 100) * 2**20
    assert allocatable(lookup("m5.2xlarge"))[0] == 7910
    with pytest.raises(KeyError, match="unknown instance type 'x9.huge'"):
        lookup("x9.huge")
