"""A run's pace on the simulator: how fast cluster time runs while the experiment measures, and how
long (in real seconds) each measured bucket of traffic is.  Pure: the experiment in, a Pace out.

Traffic is real time: the load generator sends `rate` requests per real second whatever the
cluster's clock does, and the traffic checks judge buckets of it laid on cluster time.  A bucket
must be no wider in cluster time than the narrowest window the experiment judges
(`error-window`'s max, `window-error-rate`'s window, a stop condition's window; 10 s at most, the
width every experiment had at speed 10 with one-second buckets), and must hold enough requests
that a threshold counts errors, not one unlucky request.  Those two give the fastest speed the
traffic allows:

    speed <= rate x bucket width (cluster s) / MIN_REQUESTS_PER_BUCKET

With `speed: auto` the run measures at that speed, between SPEED_FLOOR (what every experiment ran
at before: a slower clock would only make the run longer) and SPEED_CEILING (beyond it a
millisecond of loopback latency is too much cluster time: the harness's own watch and API round
trips are real time).  Provisioning, with no traffic yet, runs at the simulator's start speed, as
fast as it keeps up.  With a fixed speed the bucket narrows to the same cluster width and nothing
else changes (one real second at speed 10 or slower, as before)."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.checks.error_window import ErrorWindow
from chaos.checks.window_error_rate import WindowErrorRate
from chaos.spec import Experiment

BUCKET_MAX = 10.0  # cluster seconds: a real second at speed 10
MIN_REQUESTS_PER_BUCKET = 200  # a 5 % threshold is then 10 errors
SPEED_FLOOR = 10.0
SPEED_CEILING = 40.0


@dataclass(frozen=True)
class Pace:
    speed: float  # cluster seconds per real second while the traffic runs
    bucket: float  # real seconds per traffic bucket
    bucket_cluster: float  # cluster seconds per traffic bucket (at `speed`)
    requests_per_bucket: float
    reason: str


def narrowest_window(spec: Experiment) -> float:
    """The narrowest stretch of cluster time the experiment judges traffic over (BUCKET_MAX when
    it judges none narrower)."""
    widths = [BUCKET_MAX]
    for h in spec.hypotheses:
        if isinstance(h, ErrorWindow):
            widths.append(float(h.max))
        elif isinstance(h, WindowErrorRate):
            widths.append(float(h.window))
    widths += [float(s.window) for s in spec.stop_conditions if s.error_rate is not None]
    return max(0.1, min(widths))


def slowest_rate(spec: Experiment) -> float:
    t = spec.traffic
    return min(t.rate, t.ramp_to) if t.ramp_to is not None else t.rate


def pace(spec: Experiment, fixed_speed: float | None) -> Pace:
    """The measured phase's pace: at `fixed_speed`, or (None) the fastest the traffic allows."""
    width = narrowest_window(spec)
    rate = slowest_rate(spec)
    if fixed_speed is not None:
        speed = fixed_speed
        reason = f"speed {speed:g} as the experiment sets it"
    else:
        allowed = rate * width / MIN_REQUESTS_PER_BUCKET
        speed = round(min(SPEED_CEILING, max(SPEED_FLOOR, allowed)), 1)
        if allowed >= SPEED_CEILING:
            bound = f"the ceiling {SPEED_CEILING:g} (loopback round trips are real time)"
        elif allowed <= SPEED_FLOOR:
            bound = f"the floor {SPEED_FLOOR:g}"
        else:
            bound = "the traffic"
        reason = (f"speed auto: {speed:g}, set by {bound}; {rate:g} requests/s x {width:g} s narrowest window / "
                  f"{MIN_REQUESTS_PER_BUCKET} requests per bucket allows {allowed:.1f}")
    bucket = min(1.0, width / speed)
    return Pace(speed, round(bucket, 4), round(bucket * speed, 3), round(rate * bucket, 1), reason)
