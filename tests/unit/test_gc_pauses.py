"""The simulator's garbage-collector setting: survivors of a full collection are frozen, so the
next full collection does not walk them; uninstalling restores CPython's default.  (The pause
lengths themselves are a benchmark's business: bench/sim_scale.py.)"""

from __future__ import annotations

import gc

from cluster.sim import gc_pauses


def test_survivors_of_a_full_collection_are_frozen_and_released_on_uninstall() -> None:
    kept = [{"metadata": {"name": f"pod-{i}"}} for i in range(1000)]
    gc.unfreeze()
    gc_pauses.install()
    try:
        gc_pauses.install()  # idempotent
        assert gc.callbacks.count(gc_pauses._freeze_survivors) == 1
        gc.collect(1)
        assert gc.get_freeze_count() == 0  # a young collection freezes nothing
        gc.collect(2)
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc_pauses.uninstall()
    assert gc.get_freeze_count() == 0 and gc_pauses._freeze_survivors not in gc.callbacks
