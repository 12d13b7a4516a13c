"""Did a run reach the outcome its experiment expects?  (Known-bad experiments expect to fail,
naming the hypotheses they breach.)  Pure."""

from __future__ import annotations

from chaos.spec import Experiment
from chaos.verdict.outcome import Verdict


def undecided(spec: Experiment, verdict: Verdict) -> list[str]:
    """The breaches the experiment expects that the run could not judge: measured only while the
    machine was starved (inconclusive), neither held nor breached."""
    return [h.name for h in verdict.hypotheses if h.name in spec.expect.breached and h.status == "inconclusive"]


def unmet(spec: Experiment, verdict: Verdict, *, judged_only: bool = False) -> list[str]:
    """What differs from the expectation; empty when the run did what the experiment is for.
    `judged_only`: leave out the expected breaches the run could not judge (`undecided`)."""
    problems = []
    if verdict.status != spec.expect.verdict:
        problems.append(f"expected {spec.expect.verdict}, got {verdict.status}: {verdict.reason}")
    breached = {h.name for h in verdict.breached}
    open_ = set(undecided(spec, verdict))
    for name in spec.expect.breached:
        if name in open_:
            if not judged_only:
                problems.append(f"expected {name} to be breached; it could not be judged (inconclusive: measured while the machine was starved)")
        elif name not in breached:
            problems.append(f"expected {name} to be breached, but it held")
    return problems


def describe(verdict: Verdict) -> str:
    lines = [f"{verdict.status}: {verdict.reason}"]
    lines += [f"  {h.status:9} {h.name}: measured {h.measured}, bound {h.bound}" + (f" ({h.detail})" if h.detail else "") for h in verdict.hypotheses]
    return "\n".join(lines)
