"""What the simulated containers write to stdout, kept per container as the kubelet keeps a
container's log, and served as `pods/log` (kubectl logs): the lines, cut by sinceSeconds /
sinceTime, tailLines and limitBytes, with timestamps when asked (RFC 3339, cluster time, as the
kubelet prefixes them).  The cuts are pure; followers wait on the container's event."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_LINES = 5000  # per container: older lines go, as a rotated container log does


@dataclass(frozen=True)
class LogLine:
    ts: float  # cluster time, Unix seconds
    text: str


def stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def render(lines: list[LogLine], *, since: float | None = None, tail: int | None = None, timestamps: bool = False,
           limit_bytes: int | None = None) -> str:
    picked = [ln for ln in lines if since is None or ln.ts >= since]
    if tail is not None:
        picked = picked[-tail:] if tail > 0 else []
    text = "".join(f"{stamp(ln.ts) + ' ' if timestamps else ''}{ln.text}\n" for ln in picked)
    if limit_bytes is not None:
        text = text.encode()[:limit_bytes].decode(errors="ignore")
    return text


class PodLogs:
    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.max_lines = max_lines
        self._lines: dict[tuple[str, str, str], deque[LogLine]] = {}
        self._written: dict[tuple[str, str, str], asyncio.Event] = {}

    def write(self, namespace: str, pod: str, container: str, text: str, ts: float) -> None:
        key = (namespace, pod, container)
        buf = self._lines.get(key)
        if buf is None:
            buf = self._lines[key] = deque(maxlen=self.max_lines)
        for line in text.splitlines() or [""]:
            buf.append(LogLine(ts, line))
        event = self._written.pop(key, None)
        if event is not None:
            event.set()

    def lines(self, namespace: str, pod: str, container: str) -> list[LogLine]:
        return list(self._lines.get((namespace, pod, container), ()))

    def next_write(self, namespace: str, pod: str, container: str) -> asyncio.Event:
        """An event set at the container's next line (a follower waits on it)."""
        return self._written.setdefault((namespace, pod, container), asyncio.Event())

    def forget(self, namespace: str, pod: str) -> None:
        for key in [k for k in self._lines if k[:2] == (namespace, pod)]:
            self._lines.pop(key, None)
            event = self._written.pop(key, None)
            if event is not None:
                event.set()  # a follower sees the pod gone
