"""ALB target health as a state machine (pure), and how LBC reads its annotations."""

from __future__ import annotations

import pytest

from cluster.components.lbc import AnnotationError, matches_codes, node_is_target, settings
from cluster.sim.alb.proxy import Route, path_patterns
from cluster.sim.alb.target_health import CheckResult, TargetGroupHealth

OK, TIMEOUT = CheckResult(True), CheckResult(False, "Target.Timeout")


def test_initial_to_healthy_after_threshold_then_unhealthy() -> None:
    g = TargetGroupHealth()
    t = g.register("10.0.0.1", 8500)
    assert (t.state, t.reason) == ("initial", "Elb.RegistrationInProgress")
    t.record(OK, 2, 2)
    assert (t.state, t.reason) == ("initial", "Elb.InitialHealthChecking")
    t.record(OK, 2, 2)
    assert t.state == "healthy" and t.reason is None
    t.record(TIMEOUT, 2, 2)
    assert t.state == "healthy"
    t.record(TIMEOUT, 2, 2)
    assert (t.state, t.reason) == ("unhealthy", "Target.Timeout")
    t.record(CheckResult(False, "Target.ResponseCodeMismatch", 503), 2, 2)
    assert t.description == "Health checks failed with these codes: [503]"


def test_draining_for_the_delay_then_not_registered() -> None:
    g = TargetGroupHealth()
    t = g.register("i-1", 30000)
    t.record(OK, 1, 2)
    g.deregister("i-1", 30000, now=100.0, delay=30.0)
    assert g.describe()[0]["TargetHealth"]["State"] == "draining"
    assert g.routable() == []
    assert g.expire(129.9) == []
    assert [x.target_id for x in g.expire(130.0)] == ["i-1"]
    gone = g.describe([("i-1", 30000)])[0]["TargetHealth"]
    assert (gone["State"], gone["Reason"]) == ("unused", "Target.NotRegistered")


def test_routes_to_healthy_else_fails_open_to_unhealthy_never_initial() -> None:
    g = TargetGroupHealth()
    a, b = g.register("a", 1), g.register("b", 1)
    assert g.routable() == []
    for _ in range(2):
        a.record(TIMEOUT, 2, 2)
    assert g.routable() == [a]  # all registered-and-checked targets unhealthy: ALB fails open
    b.record(OK, 1, 2)
    assert g.routable() == [b]


def test_success_code_matcher() -> None:
    assert matches_codes("200", 200) and not matches_codes("200", 204)
    assert matches_codes("200-399", 302) and matches_codes("200,202", 202)


def test_lbc_defaults_and_bad_annotations() -> None:
    s = settings({"metadata": {"annotations": {}}})
    assert (s.target_type, s.hc_interval, s.hc_timeout, s.healthy, s.unhealthy, s.hc_path) == ("instance", 15, 5, 2, 2, "/")
    with pytest.raises(AnnotationError, match="healthcheck-interval-seconds"):
        settings({"metadata": {"annotations": {"alb.ingress.kubernetes.io/healthcheck-interval-seconds": "often"}}})
    with pytest.raises(AnnotationError, match="targetType"):
        settings({"metadata": {"annotations": {"alb.ingress.kubernetes.io/target-type": "pod"}}})


def test_cordon_keeps_a_node_in_the_alb_but_the_exclude_label_does_not() -> None:
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    node = {"metadata": {"labels": {"intent": "apps"}}, "spec": {"unschedulable": True}, "status": ready}
    assert node_is_target(node, {"intent": "apps"})
    node["metadata"]["labels"]["node.kubernetes.io/exclude-from-external-load-balancers"] = "true"
    assert not node_is_target(node, {})


def test_ingress_paths_become_alb_path_patterns() -> None:
    assert path_patterns("/v1/models/resnet:predict", "Exact") == ("/v1/models/resnet:predict",)
    route = Route(path_patterns("/api", "Prefix"), "arn")
    assert route.matches("/api") and route.matches("/api/x") and not route.matches("/apix")
