"""`window-error-rate`: the error rate over the worst window of the experiment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chaos.checks.base import TrafficCheck
from chaos.evidence.judging import share_text
from chaos.evidence.traffic_stats import TrafficStats
from chaos.fields import Duration, Share


class WindowErrorRate(TrafficCheck):
    check: Literal["window-error-rate"]
    max: Share
    window: Duration = Field(10.0, gt=0, description="Over any window this long (at least one real second of traffic).")

    def measure(self, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
        rate, at = stats.worst_window(self.window)
        return (f"<= {share_text(self.max)} over {self.window:g}s", share_text(rate), rate, rate <= self.max,
                f"worst window from t={at:.0f}s" if at is not None else "")
