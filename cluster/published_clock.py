"""The simulator's clock as it publishes it, for every reader on the machine (the harness, the load
shards, reports): a small memory-mapped file in its state directory, named in endpoints.json.

Cluster time on the simulator is not wall time x speed: it advances only in steps the simulator's
event loop proves it kept up with (cluster/sim/clock.py), so a starved simulator's time slows down
instead of running ahead of what its controllers did.  A reader therefore cannot compute it from
the speed; it reads the last anchor the simulator wrote and extends it by the same rule the
simulator uses, which gives every reader the simulator's own reading of the moment.

Layout (little-endian, in 128 bytes): seq u64 (odd while being written: a seqlock), the anchor's
CLOCK_MONOTONIC reading, the cluster Unix time at the anchor, the nominal speed, the cap (real
seconds past the anchor the clock may extrapolate), the real seconds the clock has stood still in
all, the effective speed over the last second, the worst event-loop lag in the last second, the
share of the last second the simulator's loop waited for a CPU (cluster/runqueue.py)."""

from __future__ import annotations

import mmap
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_FILE = "clock"
STALE = 10.0  # real seconds without a new anchor after which a reader takes the simulator for gone or hung
_LAYOUT = struct.Struct("<Q8d")
SIZE = 128


@dataclass(frozen=True)
class ClockReading:
    anchor_mono: float
    anchor_cluster: float  # Unix time on the cluster's clock at anchor_mono
    speed: float  # nominal: cluster seconds per real second while the simulator keeps up
    cap: float  # real seconds past the anchor that cluster time may still advance
    stalled_total: float  # real seconds cluster time has stood still since the simulator started
    effective_speed: float  # over the last real second
    lag_max: float  # the worst event-loop lag (real seconds) in the last second
    runq_share: float = 0.0  # share of the last second its loop was ready to run but waited for a CPU

    def cluster_at(self, mono: float) -> float:
        """Cluster Unix time at a CLOCK_MONOTONIC reading at or after the anchor, by the simulator's
        rule; once the anchor is STALE (the simulator stopped or hung), time runs on at its speed
        from where it stood, so that nobody waits on a clock nobody keeps."""
        since = max(0.0, mono - self.anchor_mono)
        return self.anchor_cluster + (min(since, self.cap) + max(0.0, since - STALE)) * self.speed


class ClockWriter:
    """The simulator's side: one writer, many readers in other processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.ftruncate(fd, SIZE)
            self._map = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)
        self._seq = 0

    def write(self, reading: ClockReading) -> None:
        self._seq += 1  # odd: a reader that sees it retries
        struct.pack_into("<Q", self._map, 0, self._seq)
        _LAYOUT.pack_into(self._map, 0, self._seq, reading.anchor_mono, reading.anchor_cluster, reading.speed, reading.cap,
                          reading.stalled_total, reading.effective_speed, reading.lag_max, reading.runq_share)
        self._seq += 1
        struct.pack_into("<Q", self._map, 0, self._seq)

    def close(self) -> None:
        self._map.close()


class ClockReader:
    """A reader's side: the simulator's last anchor, extended by its own rule."""

    SPINS = 100  # tries at a consistent copy before the last one is used
    FIRST_READ_SECONDS = 5.0  # how long the very first reading may wait for a writer caught mid-write

    def __init__(self, path: Path) -> None:
        with path.open("rb") as f:
            self._map = mmap.mmap(f.fileno(), SIZE, access=mmap.ACCESS_READ)
        self._last: ClockReading | None = None

    def _consistent(self) -> ClockReading | None:
        for _ in range(self.SPINS):
            seq, *values = _LAYOUT.unpack_from(self._map, 0)
            if seq % 2 == 0 and struct.unpack_from("<Q", self._map, 0)[0] == seq:
                return ClockReading(*values)
        return None

    def reading(self) -> ClockReading:
        """The last anchor written whole.  A writer descheduled in the middle of a write (a starved
        simulator) leaves the previous anchor in force: extended by the cap, the clock stands still
        until it writes again, which is what a starved simulator's clock does."""
        found = self._consistent()
        if found is None and self._last is None:
            deadline = time.monotonic() + self.FIRST_READ_SECONDS
            while found is None and time.monotonic() < deadline:
                os.sched_yield()
                found = self._consistent()
            if found is None:
                raise RuntimeError(f"the simulator's clock file stayed half-written for {self.FIRST_READ_SECONDS:g}s")
        if found is not None:
            self._last = found
        assert self._last is not None
        return self._last

    def cluster_now(self) -> float:
        return self.reading().cluster_at(time.monotonic())

    def close(self) -> None:
        self._map.close()
