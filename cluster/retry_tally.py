"""How often this process had to try an API call again, per API ("kubernetes", "kubernetes watch",
"aws ec2", ...): one thread-safe tally for the whole process.  Retry policies add to it; a run
journals it (`api_retries` records), so a verdict reached through a flaky API says so."""

from __future__ import annotations

import threading
from collections import Counter


class RetryTally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, api: str, n: int = 1) -> None:
        if n > 0:
            with self._lock:
                self._counts[api] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


TALLY = RetryTally()
