"""Address leases: a range held by one simulator is never handed to another, an explicit range
that is held is refused in one line naming the holder and the fix, and a range comes back when its
holder releases it or dies.  Real flock on real files in a test directory; processes are real."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cluster.sim.address_lease import AddressesTaken, lease_addresses
from cluster.sim.address_plan import DEFAULT_SPAN, node_candidates
from cluster.sim.config import ConfigError


def test_leases_without_a_range_take_disjoint_ranges_and_the_first_is_the_old_default(tmp_path):
    first = lease_addresses(None, DEFAULT_SPAN, None, tmp_path)
    second = lease_addresses(None, DEFAULT_SPAN, None, tmp_path)
    try:
        assert (first.ranges.node_octet, first.ranges.lb_octet) == (16, 200)  # a simulator alone keeps 127.16 and 127.200
        assert set(first.ranges.node_octets).isdisjoint(second.ranges.node_octets)
        assert first.ranges.lb_subnet != second.ranges.lb_subnet
    finally:
        first.release()
        second.release()


def test_an_explicit_range_overlapping_a_held_one_is_refused_naming_the_holder(tmp_path):
    held = lease_addresses(40, 4, None, tmp_path)
    try:
        with pytest.raises(AddressesTaken) as caught:
            lease_addresses(42, 4, None, tmp_path)
        message = str(caught.value)
        assert "127.42" in message and "node_address_octet 42" in message and "leave it out" in message

        assert f"pid {os.getpid()}" in message
        # a range left out skips the held octets
        auto = lease_addresses(None, 4, None, tmp_path)
        assert set(auto.ranges.node_octets).isdisjoint(range(40, 44))
        auto.release()
    finally:
        held.release()
    lease_addresses(42, 4, None, tmp_path).release()  # released: free again


def test_an_explicit_load_balancer_range_that_is_held_is_refused_and_keeps_no_node_range(tmp_path):
    held = lease_addresses(None, 4, 210, tmp_path)
    try:
        with pytest.raises(AddressesTaken, match="lb_address_octet"):
            lease_addresses(60, 4, 210, tmp_path)
        lease_addresses(60, 4, None, tmp_path).release()  # the refused lease gave its node range back
    finally:
        held.release()


def test_a_range_past_the_node_octets_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="give one from 16 to 196"):
        lease_addresses(198, 4, None, tmp_path)


def test_a_killed_holder_gives_its_range_back(tmp_path):
    code = ("import sys, time; from pathlib import Path; from cluster.sim.address_lease import lease_addresses; "
            f"lease_addresses(100, 4, 220, Path({str(tmp_path)!r})); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(AddressesTaken, match=f"pid {proc.pid}"):
            lease_addresses(100, 4, None, tmp_path)
    finally:
        proc.kill()
        proc.wait()
    lease_addresses(100, 4, 220, tmp_path).release()


def test_every_candidate_range_fits_the_node_octets():
    for span in (1, 4, 7, 32):
        starts = node_candidates(span)
        assert starts[0] == 16 and starts[-1] + span - 1 <= 199
        assert all(b - a == span for a, b in zip(starts, starts[1:], strict=False))
