"""`p99-latency`: the 99th percentile of request latency (real time) over the experiment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chaos.checks.base import TrafficCheck
from chaos.evidence.traffic_stats import TrafficStats
from chaos.fields import Duration


class P99Latency(TrafficCheck):
    check: Literal["p99-latency"]
    max: Duration = Field(description="p99 request latency (real time) over the experiment, e.g. 800ms.")

    def measure(self, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
        p99 = stats.percentiles_ms()["p99"]
        limit = self.max * 1000
        return f"<= {limit:g} ms", "-" if p99 is None else f"{p99:.1f} ms", p99, p99 is not None and p99 <= limit, ""
