"""One reading of every NTH / Cluster Autoscaler / Load Balancer Controller / TF Serving setting:
the same variants go to the simulator's reader and to doctor, and both must agree.  The readers
are cluster.components; the simulator's add-ons are checked to use exactly those functions."""

from __future__ import annotations

import copy

import pytest

from cluster.components import cluster_autoscaler as ca
from cluster.components import lbc, nth, tf_serving
from cluster.components.go_values import atoi, parse_bool, parse_duration
from cluster.doctor import NodeGroupFacts, diagnose
from cluster.manifests.render import render
from cluster.profiles import hardened
from cluster.sim.addons import cluster_autoscaler as sim_ca
from cluster.sim.addons import nth as sim_nth
from cluster.sim.alb import controller as sim_lbc
from cluster.sim.serving import tfserving as sim_tfs


def test_go_values_take_exactly_gos_spellings():
    assert all(parse_bool(v) for v in ("1", "t", "T", "TRUE", "true", "True"))
    assert not any(parse_bool(v) for v in ("0", "f", "F", "FALSE", "false", "False"))
    for bad in ("yes", " true", "tRue", "on", ""):
        with pytest.raises(ValueError):
            parse_bool(bad)
    assert atoi("+7") == 7 and atoi("-3") == -3
    for bad in (" 7", "1_0", "7s", ""):
        with pytest.raises(ValueError):
            atoi(bad)
    assert parse_duration("1h30m") == 5400 and parse_duration("500ms") == 0.5 and parse_duration("1.5h") == 5400 and parse_duration("0") == 0
    for bad in ("", "10", "soon", "5 s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_the_simulator_reads_settings_with_the_shared_readers():
    assert sim_nth.parse_env is nth.parse_env and sim_nth.container_env is nth.container_env
    assert sim_ca.parse_flags is ca.parse_flags and sim_ca.container_argv is ca.container_argv
    assert sim_lbc.settings is lbc.settings
    assert sim_tfs.ServingArgs is tf_serving.ServingArgs


def _objects():
    return render(hardened())


def _nth(objs):
    return next(o for o in objs if o["kind"] == "DaemonSet" and "node-termination" in o["metadata"]["name"])


def _set_env(obj, name, value):
    c = obj["spec"]["template"]["spec"]["containers"][0]
    c["env"] = [e for e in c["env"] if e["name"] != name] + [{"name": name, "value": value}]


# (env var, value) -> (what NTH's reading is, the doctor check that must or must not fire)
NTH_VARIANTS = [
    ("CORDON_ONLY", "1", lambda cfg: cfg.cordon_only, "nth-cordon-only", True),
    ("CORDON_ONLY", "T", lambda cfg: cfg.cordon_only, "nth-cordon-only", True),
    ("CORDON_ONLY", "0", lambda cfg: not cfg.cordon_only, "nth-cordon-only", False),
    ("CORDON_ONLY", "", lambda cfg: not cfg.cordon_only, "nth-cordon-only", False),  # empty: the default
    ("cordon_only", "true", lambda cfg: not cfg.cordon_only, "nth-cordon-only", False),  # names are case-sensitive
    ("ENABLE_SPOT_INTERRUPTION_DRAINING", "0", lambda cfg: not cfg.enable_spot_interruption_draining, "nth-no-draining", True),
    ("ENABLE_SPOT_INTERRUPTION_DRAINING", "F", lambda cfg: not cfg.enable_spot_interruption_draining, "nth-no-draining", True),
    ("EXCLUDE_FROM_LOAD_BALANCERS", "f", lambda cfg: not cfg.exclude_from_load_balancers, "nth-keeps-lb-traffic", True),
    ("EXCLUDE_FROM_LOAD_BALANCERS", "1", lambda cfg: cfg.exclude_from_load_balancers, "nth-keeps-lb-traffic", False),
]


@pytest.mark.parametrize(("var", "value", "reading", "check", "fires"), NTH_VARIANTS, ids=[f"{v}={x}" for v, x, *_ in NTH_VARIANTS])
def test_nth_env_variants_read_the_same_by_the_simulator_and_doctor(var, value, reading, check, fires):
    objs = _objects()
    _set_env(_nth(objs), var, value)
    container = _nth(objs)["spec"]["template"]["spec"]["containers"][0]
    assert reading(sim_nth.parse_env(sim_nth.container_env(container)))  # what the simulated NTH does
    assert (check in {f.check for f in diagnose(objs)}) == fires  # what doctor says


def test_a_value_nth_refuses_is_refused_by_both():
    objs = _objects()
    _set_env(_nth(objs), "TAINT_NODE", "yes")
    with pytest.raises(nth.NthConfigError):
        sim_nth.parse_env(sim_nth.container_env(_nth(objs)["spec"]["template"]["spec"]["containers"][0]))
    assert "nth-config-invalid" in {f.check for f in diagnose(objs)}


def test_a_custom_managed_tag_is_the_one_queue_mode_looks_for():
    objs = _objects()
    ds = _nth(objs)
    for k, v in (("ENABLE_SQS_TERMINATION_DRAINING", "1"), ("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/q"), ("MANAGED_TAG", "team/nth")):
        _set_env(ds, k, v)
    cfg = sim_nth.parse_env(sim_nth.container_env(ds["spec"]["template"]["spec"]["containers"][0]))
    assert cfg.queue_mode and cfg.managed_tag == "team/nth"
    default_tagged = [NodeGroupFacts("spot", ("m5.xlarge",) * 4, True, 10, {nth.MANAGED_TAG: ""})]
    custom_tagged = [NodeGroupFacts("spot", ("m5.xlarge",) * 4, True, 10, {"team/nth": ""})]
    assert "nth-queue-untagged" in {f.check for f in diagnose(objs, default_tagged)}
    assert "nth-queue-untagged" not in {f.check for f in diagnose(objs, custom_tagged)}


def _ca(objs):
    return next(o for o in objs if o["kind"] == "Deployment" and "cluster-autoscaler" in o["metadata"]["name"])


@pytest.mark.parametrize(("flag", "valid"), [("--scale-down-enabled=F", True), ("--balance-similar-node-groups=1", True),
                                             ("--scale-down-enabled=yes", False), ("--expander=cheapest", False), ("--scan-interval=10", False)])
def test_cluster_autoscaler_flags_read_the_same_by_the_simulator_and_doctor(flag, valid):
    objs = _objects()
    c = _ca(objs)["spec"]["template"]["spec"]["containers"][0]
    c["command"] = [*c["command"], flag]
    try:
        sim_ca.parse_flags(sim_ca.container_argv(c))
        sim_ok = True
    except ca.CaFlagError:
        sim_ok = False
    assert sim_ok == valid
    assert ("ca-flags-invalid" not in {f.check for f in diagnose(objs)}) == valid


def _ingress(objs):
    return next(o for o in objs if o["kind"] == "Ingress")


@pytest.mark.parametrize(("annotation", "value", "check"), [
    ("healthcheck-interval-seconds", "15s", "lbc-annotation-invalid"),
    ("target-type", "pod", "lbc-annotation-invalid"),
    ("healthcheck-path", "/", "alb-health-check-fails"),
    ("healthcheck-path", "/v1/models/other", "alb-health-check-fails"),
    ("success-codes", "204", "alb-health-check-fails"),
    ("healthcheck-path", "/v1/models/resnet/metadata", None),
    ("success-codes", "200-299", None),
])
def test_lbc_annotations_read_the_same_by_the_simulator_and_doctor(annotation, value, check):
    objs = _objects()
    ing = _ingress(objs)
    ing["metadata"]["annotations"][lbc.PREFIX + annotation] = value
    checks = {f.check for f in diagnose(objs)}
    try:
        sim_lbc.settings(copy.deepcopy(ing))
        sim_ok = True
    except lbc.AnnotationError:
        sim_ok = False
    assert sim_ok == (check != "lbc-annotation-invalid")
    assert checks & {"lbc-annotation-invalid", "alb-health-check-fails"} == ({check} if check else set())


@pytest.mark.parametrize("path", ["/", "/v1/models/resnet", "/v1/models/resnet/metadata", "/v1/models/resnet/versions/1", "/v1/models/resnet/versions/2",
                                  "/v1/models/other", "/v1/models/resnet:predict", "/healthz", "/v1/models/resnet/labels/stable"])
def test_doctors_health_check_answer_is_what_the_simulated_tf_serving_answers(path):
    args = tf_serving.ServingArgs("resnet", 8501, 8500, "/models/resnet")
    assert tf_serving.get_status(args, path) == sim_tfs.handle(args, "GET", path, b"")[0]


def test_the_seed_ingress_health_check_is_flagged_with_why_and_the_fix():
    from cluster.profiles import seed

    found = [f for f in diagnose(render(seed())) if f.check == "alb-health-check-fails"]
    assert len(found) == 1
    assert "GET / answers 404" in found[0].problem and "fails open" in found[0].why and "/v1/models/resnet" in found[0].fix


def test_nth_event_annotations_as_nths_recorder_makes_them():
    from cluster.components.nth import (
        NthConfigError,
        event_annotations,
        extra_annotations,
        parse_env,
    )

    meta = {"instance-id": "i-1", "availability-zone": "us-east-1a", "region": "us-east-1"}
    imds = parse_env({"EMIT_KUBERNETES_EVENTS": "true", "KUBERNETES_EVENTS_EXTRA_ANNOTATIONS": "team=ml,region=override"})
    got = event_annotations(imds, meta)
    assert got["instance-id"] == "i-1" and got["team"] == "ml" and got["region"] == "override" and got["public-ipv4"] == ""
    queue = parse_env({"EMIT_KUBERNETES_EVENTS": "true", "ENABLE_SQS_TERMINATION_DRAINING": "true", "QUEUE_URL": "https://q",
                       "KUBERNETES_EVENTS_EXTRA_ANNOTATIONS": "team=ml"})
    assert event_annotations(queue, meta) == {"team": "ml"}  # queue mode: no node metadata
    assert extra_annotations("") == {}
    for bad in ("team", "a=b=c", "a=b,"):
        with pytest.raises(NthConfigError, match="error parsing annotations"):
            parse_env({"EMIT_KUBERNETES_EVENTS": "true", "KUBERNETES_EVENTS_EXTRA_ANNOTATIONS": bad})
