"""Work that must not starve what runs beside it: done on a thread of its own at a lower CPU
priority (Linux gives each thread its own nice value), the caller waiting for it.

A run writes its reports (matplotlib's import and two pictures: seconds of CPU) once its traffic
is over, while other runs beside it on the machine may still be sending theirs: at normal
priority, one run's reports starved the others' load generators and simulators and turned their
verdicts inconclusive."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
NICE = 10  # CFS gives a nice-10 thread about a tenth of what a nice-0 one gets when both want the CPU


def at_low_priority(work: Callable[[], T], nice: int = NICE) -> T:
    """`work()`'s result (or its exception), computed on a thread `nice` steps below this one."""
    out: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + nice)
        except (OSError, AttributeError):
            pass  # not Linux, or not allowed: at the caller's priority
        try:
            out.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            failed.append(exc)

    worker = threading.Thread(target=run, name="low-priority", daemon=True)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]
    return out[0]
