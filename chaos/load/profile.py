"""Arrival-rate profiles for open-loop load (pure): constant, step and ramp, all expressed as
piecewise-linear rate segments, with the exact scheduled send time of every request."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass


class ProfileError(ValueError):
    """A load profile that cannot be run; the message names the field and the fix."""


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the run's start
    end: float
    rate_start: float  # requests per second at `start`
    rate_end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    def count(self, t: float) -> float:
        """Requests due in this segment by time t (start <= t <= end)."""
        dt = min(max(t, self.start), self.end) - self.start
        slope = (self.rate_end - self.rate_start) / self.duration if self.duration else 0.0
        return self.rate_start * dt + slope * dt * dt / 2

    def time_of(self, n: float) -> float:
        """When the n-th request of this segment is due (inverse of `count`)."""
        slope = (self.rate_end - self.rate_start) / self.duration if self.duration else 0.0
        if abs(slope) < 1e-12:
            return self.start + (n / self.rate_start if self.rate_start else self.duration)
        disc = self.rate_start * self.rate_start + 2 * slope * n
        return self.start + (-self.rate_start + math.sqrt(max(0.0, disc))) / slope


@dataclass(frozen=True)
class Profile:
    segments: tuple[Segment, ...]

    @property
    def duration(self) -> float:
        return self.segments[-1].end if self.segments else 0.0

    @property
    def total(self) -> int:
        return sum(int(s.count(s.end) + 1e-9) for s in self.segments)  # as many as `times` yields

    def times(self) -> Iterator[float]:
        """Every scheduled send time in order: the first at t=0, then one every 1/rate."""
        for s in self.segments:
            c = int(s.count(s.end) + 1e-9)
            if s.rate_start == s.rate_end and s.rate_start > 0:
                step = 1.0 / s.rate_start
                start = s.start
                for i in range(c):
                    yield start + i * step
            else:
                for i in range(c):
                    yield s.time_of(i)


def constant(rate: float, duration: float) -> Profile:
    _check(rate, duration)
    return Profile((Segment(0.0, duration, rate, rate),))


def ramp(rate_from: float, rate_to: float, duration: float) -> Profile:
    if not (_rate_ok(rate_from) and _rate_ok(rate_to)):
        raise ProfileError(f"load profile 'ramp': rates must be from 0 to {MAX_RATE:,.0f} (got {rate_from} to {rate_to})")
    _check(max(rate_from, rate_to), duration)
    return Profile((Segment(0.0, duration, rate_from, rate_to),))


def steps(stages: list[tuple[float, float]]) -> Profile:
    """Stages of (duration seconds, rate)."""
    segs = []
    t = 0.0
    for i, (d, r) in enumerate(stages):
        if not (0 < d <= MAX_DURATION) or not _rate_ok(r):
            raise ProfileError(f"load profile 'step' stage {i + 1}: duration must be > 0 and rate from 0 to {MAX_RATE:,.0f} (got {d}s at {r} rps)")
        segs.append(Segment(t, t + d, r, r))
        t += d
    if not segs:
        raise ProfileError("load profile 'step': give at least one stage, e.g. --steps 30s:100,30s:400")
    return Profile(tuple(segs))


MAX_RATE = 1_000_000.0  # requests per second: far past what one machine can send
MAX_DURATION = 7 * 86400.0


def _rate_ok(rate: float) -> bool:
    return math.isfinite(rate) and 0 <= rate <= MAX_RATE


def _check(rate: float, duration: float) -> None:
    if not _rate_ok(rate) or rate == 0:
        raise ProfileError(f"--rps must be more than 0 and at most {MAX_RATE:,.0f} (got {rate})")
    if not (math.isfinite(duration) and 0 < duration <= MAX_DURATION):
        raise ProfileError(f"--duration must be more than 0 and at most a week (got {duration}s)")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def duration_seconds(text: str) -> float | None:
    """'90', '90s', '1.5m', '250ms' -> seconds; None when it is not a duration."""
    m = _DURATION.match(str(text))
    if not m:
        return None
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def parse_duration(text: str, field: str = "--duration") -> float:
    """'90', '90s', '1.5m', '250ms' -> seconds."""
    seconds = duration_seconds(text)
    if seconds is None or seconds > MAX_DURATION:
        raise ProfileError(f"{field}: {str(text)[:40]!r} is not a duration up to a week; write e.g. 60s, 2m or 500ms")
    return seconds


def parse_steps(text: str) -> list[tuple[float, float]]:
    """'30s:100,1m:400' -> [(30, 100), (60, 400)]."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if ":" not in part:
            raise ProfileError(f"--steps: '{part}' must be DURATION:RATE, e.g. 30s:100")
        d, r = part.split(":", 1)
        try:
            rate = float(r)
        except ValueError:
            raise ProfileError(f"--steps: rate {r[:20]!r} in {part[:40]!r} is not a number") from None
        out.append((parse_duration(d, "--steps"), rate))
    return out
