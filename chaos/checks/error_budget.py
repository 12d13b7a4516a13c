"""`error-budget`: the share of an availability objective's error budget the experiment burned."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chaos.checks.base import TrafficCheck
from chaos.evidence.judging import share_text
from chaos.evidence.traffic_stats import TrafficStats


class ErrorBudget(TrafficCheck):
    check: Literal["error-budget"]
    slo: float = Field(gt=0, lt=1, description="Availability objective, e.g. 0.999.")
    max_burn: float = Field(1.0, gt=0, description="Share of the error budget (1 - slo) the experiment may burn.")

    def measure(self, stats: TrafficStats) -> tuple[str, str, float | None, bool, str]:
        budget = 1 - self.slo
        burn = stats.error_rate / budget
        return (f"<= {self.max_burn:g} x budget ({share_text(budget)})", f"{burn:.2f} x budget", burn, burn <= self.max_burn,
                f"{stats.errors} failed of {stats.requests}; SLO {self.slo}")
