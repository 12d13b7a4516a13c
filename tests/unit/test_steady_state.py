"""The run's guards: the steady state and the error-rate stop conditions, pure."""

from __future__ import annotations

from chaos.journal.records import DeploymentRecord
from chaos.spec import StopCondition
from chaos.verdict.steady_state import steady_state_problems, stop_condition_breach


def test_the_steady_state_needs_every_replica_ready_and_before_injecting_answered_requests_under_the_limit():
    full, short = DeploymentRecord(name="resnet-v1", ready=25, desired=25), DeploymentRecord(name="resnet-v1", ready=24, desired=25)
    assert steady_state_problems(True, full, 800, 0.001, 0.01) == []
    assert steady_state_problems(True, short, 800, 0.0, 0.01) == ["serving replicas Ready 24/25"]
    assert steady_state_problems(True, None, 800, 0.0, 0.01) == ["serving replicas Ready 0/?"]
    assert steady_state_problems(True, full, 800, 0.02, 0.01) == ["error rate 2.00% over the warm-up is above 1.00%"]
    assert steady_state_problems(True, full, 0, 0.0, 0.01) == ["no request was answered during the warm-up"]
    # after the traffic stopped, only the replicas count: the experiment's own errors are the hypotheses' business
    assert steady_state_problems(False, full, 0, 0.5, 0.01) == []


def test_a_stop_condition_breaks_on_the_recent_error_rate_of_answered_requests_only():
    conds = [StopCondition(error_rate=0.5, window=20), StopCondition(cloudwatch_alarm="arn:aws:cloudwatch:us-east-1:1:alarm:x")]
    seen: list[float] = []

    def rate(window: float) -> tuple[float, int]:
        seen.append(window)
        return 0.6, 100

    assert stop_condition_breach(conds, rate) == "stop condition: error rate 60.00% over the last 20s is above 50.00%"
    assert seen == [20]
    assert stop_condition_breach(conds, lambda w: (0.4, 100)) is None
    assert stop_condition_breach(conds, lambda w: (1.0, 0)) is None  # nothing answered yet: no rate to judge
