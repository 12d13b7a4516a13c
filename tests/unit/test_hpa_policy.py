from cluster.sim.controllers.hpa_policy import (
    PodSample,
    rate_limit,
    replicas_for_utilization,
    stabilize,
)


def s(request, usage, ready=True):
    return PodSample(request, usage, ready)


def test_utilization_ratio_and_tolerance():
    # 2 pods at 100% of request with a 50% target -> 4
    assert replicas_for_utilization(2, [s(500, 500), s(500, 500)], 50) == (4, 100)
    # within 10% of the target: no change
    assert replicas_for_utilization(3, [s(1000, 520)] * 3, 50) == (3, 52)
    # scale down
    assert replicas_for_utilization(4, [s(1000, 100)] * 4, 50)[0] == 1


def test_pods_without_metrics_count_as_idle_when_scaling_up():
    # 1 measured pod at 200%, 1 new pod without metrics: (2000)/(2000) *100/50 -> ratio 2 over 2 pods -> 4
    assert replicas_for_utilization(2, [s(1000, 2000), s(1000, None)], 50)[0] == 4
    # the missing pod flips a small scale-up into "no change"
    assert replicas_for_utilization(2, [s(1000, 600), s(1000, None, ready=False)], 50)[0] == 2


def test_scale_up_policies_default_double_or_four_pods():
    assert rate_limit(20, 2, [], 100.0, None) == 6  # max(2*2, 2+4)
    assert rate_limit(20, 10, [], 100.0, None) == 20  # max(20, 14)
    # changes within the period count against the limit
    assert rate_limit(20, 6, [(95.0, 4)], 100.0, None) == 6  # started the period at 2 -> at most 6


def test_scale_down_stabilization_keeps_the_highest_recent_recommendation():
    history = [(0.0, 8), (200.0, 5)]
    assert stabilize(2, 8, history, 250.0, None) == 8  # 8 was recommended within 300 s
    assert stabilize(2, 8, history, 350.0, None) == 5
    assert stabilize(2, 8, history, 600.0, {"scaleDown": {"stabilizationWindowSeconds": 0}}) == 2
    assert rate_limit(1, 8, [], 0.0, {"scaleDown": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}}) == 6
