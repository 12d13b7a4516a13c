"""Did a run reach the outcome its experiment expects?  (Known-bad experiments expect to fail,
naming the hypotheses they breach.)  Pure."""

from __future__ import annotations

from chaos.spec import Experiment
from chaos.verdict.outcome import Verdict


def unmet(spec: Experiment, verdict: Verdict) -> list[str]:
    """What differs from the expectation; empty when the run did what the experiment is for."""
    problems = []
    if verdict.status != spec.expect.verdict:
        problems.append(f"expected {spec.expect.verdict}, got {verdict.status}: {verdict.reason}")
    breached = {h.name for h in verdict.breached}
    for name in spec.expect.breached:
        if name not in breached:
            problems.append(f"expected {name} to be breached, but it held")
    return problems


def describe(verdict: Verdict) -> str:
    lines = [f"{verdict.status}: {verdict.reason}"]
    lines += [f"  {h.status:9} {h.name}: measured {h.measured}, bound {h.bound}" + (f" ({h.detail})" if h.detail else "") for h in verdict.hypotheses]
    return "\n".join(lines)
