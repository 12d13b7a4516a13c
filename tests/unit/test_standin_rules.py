"""The stand-in's decisions from its pod (pure): behaviour from annotations with the container's
own winning and bad values named, where it listens, how each probe kind is checked, and an
error rate that is exact."""

from __future__ import annotations

from cluster.pod_lifecycle import ignores_sigterm
from cluster.sim.serving.standin_rules import (
    Behaviour,
    behaviour,
    fails,
    listen_ports,
    probe_check,
    runs_standin,
)


def _pod(annotations: dict[str, str] | None = None, **spec) -> dict:
    return {"metadata": {"name": "p", "annotations": annotations or {}}, "spec": spec}


def test_annotations_set_the_behaviour_and_the_containers_own_wins():
    pod = _pod({"sim.spotchaos.io/service-time-ms": "20", "sim.spotchaos.io/service-time-ms.sidecar": "1", "sim.spotchaos.io/sigterm": "ignore",
                "sim.spotchaos.io/concurrency": "8"})
    app, problems = behaviour(pod, "app")
    assert (app.service_time_ms, app.sigterm, app.concurrency, problems) == (20.0, "ignore", 8, [])
    assert behaviour(pod, "sidecar")[0].service_time_ms == 1.0
    assert behaviour(_pod(), "app") == (Behaviour(), [])


def test_bad_annotations_are_named_and_the_default_kept():
    how, problems = behaviour(_pod({"sim.spotchaos.io/error-rate": "2", "sim.spotchaos.io/sigterm": "maybe", "sim.spotchaos.io/start-seconds": "soon"}), "app")
    assert how == Behaviour()
    assert sorted(problems) == sorted(["sim.spotchaos.io/error-rate='2': out of range 0-1", "sim.spotchaos.io/sigterm='maybe': use honour or ignore",
                                       "sim.spotchaos.io/start-seconds='soon': not a number"])


def test_it_listens_on_its_tcp_ports_and_its_probes_ports():
    c = {"ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 53, "protocol": "UDP"}, {"containerPort": 8080}],
         "readinessProbe": {"httpGet": {"port": "http", "path": "/ready"}}, "livenessProbe": {"tcpSocket": {"port": 9000}},
         "startupProbe": {"grpc": {"port": 50051}}}
    assert listen_ports(c) == [8080, 9000, 50051]
    assert probe_check(c, c["readinessProbe"]) == ("http", 8080, "/ready")
    assert probe_check(c, {"httpGet": {"port": 8443, "scheme": "HTTPS"}}) == ("tcp", 8443, "")  # no TLS: the port accepting is what is checked
    assert probe_check(c, c["startupProbe"]) == ("tcp", 50051, "")
    assert probe_check(c, {"exec": {"command": ["true"]}}) == ("exec", None, "")
    assert probe_check(c, {"periodSeconds": 5}) is None


def test_tf_serving_and_host_network_pods_are_not_stand_ins():
    ports = [{"containerPort": 8080}]
    assert runs_standin(_pod(), {"image": "shop/cart:2", "ports": ports})
    assert not runs_standin(_pod(), {"image": "tensorflow/serving:2.16.1", "ports": ports})
    assert not runs_standin(_pod(hostNetwork=True), {"image": "shop/cart:2", "ports": ports})


def test_the_error_rate_is_exact_over_any_run_of_requests():
    for rate in (0.0, 0.01, 0.25, 1 / 3, 1.0):
        assert sum(fails(n, rate) for n in range(300)) == int(300 * rate)


def test_the_pods_sigterm_annotation_overrides_the_image():
    tf = {"name": "tf", "image": "tensorflow/serving:2"}
    assert ignores_sigterm(tf) and not ignores_sigterm(tf, _pod({"sim.spotchaos.io/sigterm.tf": "honour"}))
    assert ignores_sigterm({"name": "app", "image": "shop/cart"}, _pod({"sim.spotchaos.io/sigterm": "ignore"}))


def test_a_jobs_process_runs_to_completion_and_a_servers_does_not():
    from cluster.sim.serving.standin_rules import runs_for

    job = _pod(restartPolicy="Never")
    assert runs_for(job, Behaviour()) == 10.0 and runs_for(_pod(), Behaviour()) is None
    assert runs_for(_pod({"sim.spotchaos.io/run-seconds": "90"}), behaviour(_pod({"sim.spotchaos.io/run-seconds": "90"}), "app")[0]) == 90.0
    assert runs_standin(job, {"image": "shop/report:1"})  # no port, but work to finish
    assert not runs_standin(_pod(), {"image": "shop/report:1"})  # no port and never ends: nothing to stand in for
    assert not runs_standin(job, {"image": "ghcr.io/acme/spotchaos:0.3"})  # the harness's image runs for real
