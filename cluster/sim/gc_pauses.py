"""Keep CPython's full garbage collections short in the simulator process.

The simulator holds every Kubernetes object and its watch history as plain JSON dicts: at 1,000
nodes and 10,000 pods that is close to a million tracked containers, and each full (generation 2)
collection walks all of them while the event loop stands still — pauses of 0.3 to 0.8 s that
showed up as watch-delivery lag and as latency added by the simulated ALB.  Almost none of it is
garbage: the dicts are freed by reference counting when objects change.  So after each full
collection the survivors are moved to the permanent generation (`gc.freeze()`), and the next full
collection walks only what was created since.  What becomes cyclic garbage after being frozen is
not reclaimed; the simulator's objects are acyclic, so that is rare, and the peak RSS the scale
benchmark prints shows it.
"""

from __future__ import annotations

import gc
from typing import Any


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def install() -> None:
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


def uninstall() -> None:
    if _freeze_survivors in gc.callbacks:
        gc.callbacks.remove(_freeze_survivors)
    gc.unfreeze()
