"""Work done at low priority runs on a thread whose nice value is raised (Linux keeps one per
thread), hands back its result or its exception, and leaves the caller's priority as it was."""

from __future__ import annotations

import os
import threading

import pytest

from chaos.host.low_priority import NICE, at_low_priority


def test_the_work_runs_niced_on_its_own_thread_and_the_caller_keeps_its_priority() -> None:
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = at_low_priority(lambda: (threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    assert seen[0] != threading.get_native_id()
    assert seen[1] == min(19, before + NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_an_exception_reaches_the_caller() -> None:
    def fail() -> None:
        raise ValueError("bad journal")

    with pytest.raises(ValueError, match="bad journal"):
        at_low_priority(fail)
