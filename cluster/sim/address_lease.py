"""Leases on loopback address ranges, one lock file per second octet in a machine-wide directory
(`SPOTCHAOS_LEASE_DIR`, default <tmp>/spotchaos-address-leases), held with flock for as long as
the simulator runs.  The kernel drops a lock when its process dies, however it dies, so a killed
simulator never keeps its range; the file keeps the last holder's pid for the error message.

A range given in the config is taken or refused (one line naming the holder and the fix); one left
out is the first free range (cluster/sim/address_plan.py)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from cluster.sim.address_plan import (
    AddressRanges,
    lb_candidates,
    node_candidates,
    node_range_problem,
)
from cluster.sim.config import ConfigError

LEASE_DIR_ENV = "SPOTCHAOS_LEASE_DIR"


class AddressesTaken(ConfigError):
    """The address range the config asks for is held by another simulator, or none is free."""


def lease_dir() -> Path:
    return Path(os.environ.get(LEASE_DIR_ENV) or Path(tempfile.gettempdir()) / "spotchaos-address-leases")


class AddressLease:
    """Held ranges; `release` (or the process's end) gives them back."""

    def __init__(self, ranges: AddressRanges, fds: list[int]) -> None:
        self.ranges = ranges
        self._fds = fds

    def release(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)  # closing the last descriptor drops the flock


def _lock(directory: Path, name: str) -> int | None:
    """A descriptor holding the lock on `name`, or None when another process (or lease) holds it."""
    fd = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def _holder(directory: Path, name: str) -> str:
    try:
        pid = (directory / f"{name}.lock").read_text().strip()
    except OSError:
        return "another simulator"
    return f"the simulator with pid {pid}" if pid.isdigit() else "another simulator"


def _lock_all(directory: Path, names: list[str]) -> tuple[list[int], str | None]:
    """(descriptors, None) holding every name, or ([], the first name held elsewhere)."""
    fds: list[int] = []
    for name in names:
        fd = _lock(directory, name)
        if fd is None:
            for held in fds:
                os.close(held)
            return [], name
        fds.append(fd)
    return fds, None


def _node_names(octet: int, span: int) -> list[str]:
    return [f"node-127.{o}" for o in range(octet, octet + span)]


def lease_addresses(node_octet: int | None, span: int, lb_octet: int | None, directory: Path | None = None) -> AddressLease:
    directory = directory or lease_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if directory.stat().st_uid == os.getuid():
            directory.chmod(0o1777)  # every user's simulators share the machine's loopback addresses
    except OSError as exc:
        raise ConfigError(f"cannot keep address leases in {directory}: {exc.strerror or exc}; set {LEASE_DIR_ENV} to a writable directory") from None
    if node_octet is not None:
        problem = node_range_problem(node_octet, span)
        if problem:
            raise ConfigError(problem)
        node_fds, taken = _lock_all(directory, _node_names(node_octet, span))
        if taken:
            raise AddressesTaken(f"node addresses {taken.removeprefix('node-')}.x.x (node_address_octet {node_octet}) are held by "
                                 f"{_holder(directory, taken)}; give another node_address_octet, or leave it out to take a free range")
        chosen_node = node_octet
    else:
        for candidate in node_candidates(span):
            node_fds, taken = _lock_all(directory, _node_names(candidate, span))
            if not taken:
                chosen_node = candidate
                break
        else:
            raise AddressesTaken(f"every node address range of {span} octets is held by another simulator; stop one (`spotchaos sim down`)")
    lb_names = [f"lb-127.{lb_octet}"] if lb_octet is not None else [f"lb-127.{o}" for o in lb_candidates()]
    for name in lb_names:
        fds, taken = _lock_all(directory, [name])
        if not taken:
            return AddressLease(AddressRanges(chosen_node, span, int(name.rsplit(".", 1)[1])), node_fds + fds)
    for fd in node_fds:
        os.close(fd)
    if lb_octet is not None:
        raise AddressesTaken(f"load balancer addresses 127.{lb_octet}.x.x (lb_address_octet) are held by {_holder(directory, lb_names[0])}; "
                             "give another lb_address_octet, or leave it out to take a free range")
    raise AddressesTaken("every load balancer address range is held by another simulator; stop one (`spotchaos sim down`)")
