"""A clock speed as users give it (an experiment's `target.speed`, a simulator's `speed`, `--speed`):
a number of times faster than real time, within range, or `auto`."""

from __future__ import annotations

MIN_SPEED, MAX_SPEED = 0.1, 1000.0
AUTO = "auto"


def parse_speed(value: object) -> float | str:
    """`auto`, or the speed as a float; ValueError naming the fix (pydantic adds the field)."""
    if value == AUTO:
        return AUTO
    try:
        speed = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("give a number of times faster than real time (e.g. 10), or auto") from None
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(f"give a speed from {MIN_SPEED:g} to {MAX_SPEED:g}, or auto")
    return speed
