"""`error-window`: the longest run of consecutive seconds whose error rate is over a threshold."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chaos.checks.base import TrafficCheck
from chaos.evidence.judging import share_text
from chaos.evidence.traffic_stats import TrafficStats
from chaos.fields import Duration, Share


class ErrorWindow(TrafficCheck):
    check: Literal["error-window"]
    max: Duration = Field(description="The longest run of consecutive seconds whose error rate is over `threshold` (cluster time).")
    threshold: Share = Field(0.01, description="A second counts as failing when more than this share of its requests failed.")

    def measure(self, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
        length, at = stats.longest_run_over(self.threshold)
        return (f"<= {self.max:g}s over {share_text(self.threshold)} errors", f"{length:.0f}s", length, length <= self.max,
                f"from t={at:.0f}s" if at is not None else "no second over the threshold")
