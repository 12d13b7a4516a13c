"""A CronJob's schedule checked as the API server checks it (robfig/cron's standard parser: five
fields or a macro; `TZ=` in the schedule is refused since Kubernetes 1.27, which has
`spec.timeZone` for it), so a bad schedule is one line before anything is applied.  Pure."""

from __future__ import annotations

import re

MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
          ("month", 1, 12, {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}),
          ("day of week", 0, 7, {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}))
PART = re.compile(r"^(?P<range>\*|\?|[A-Za-z0-9]+(-[A-Za-z0-9]+)?)(/(?P<step>\d+))?$")


def schedule_problem(schedule: str) -> str | None:
    """None when the schedule parses; else what is wrong with it."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        return "a time zone in the schedule is not allowed; the CronJob's times are UTC"
    if text in MACROS:
        return None
    fields = text.split()
    if len(fields) != 5:
        return f"{len(fields)} fields; a schedule has 5 (minute hour day-of-month month day-of-week) or is a macro such as @daily"
    for value, (name, low, high, names) in zip(fields, FIELDS, strict=True):
        for part in value.split(","):
            m = PART.match(part)
            if not m:
                return f"{name} {part!r} is not a number, range, list or */step"
            if m["step"] is not None and int(m["step"]) == 0:
                return f"{name} {part!r}: a step of 0"
            if m["range"] in ("*", "?"):
                continue
            for end in m["range"].split("-"):
                number = names.get(end.upper()) if not end.isdigit() else int(end)
                if number is None or not low <= number <= high:
                    return f"{name} {end!r} is outside {low}-{high}"
    return None
