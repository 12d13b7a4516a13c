"""`error-rate`: failed requests over all requests of the experiment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chaos.checks.base import TrafficCheck
from chaos.evidence.judging import share_text
from chaos.evidence.traffic_stats import TrafficStats
from chaos.fields import Share


class ErrorRate(TrafficCheck):
    check: Literal["error-rate"]
    max: Share = Field(description="Failed requests / requests over the whole experiment.")

    def measure(self, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
        rate = stats.error_rate
        return f"<= {share_text(self.max)}", f"{share_text(rate)} ({stats.errors}/{stats.requests})", rate, rate <= self.max, ""
