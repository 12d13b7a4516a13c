"""The twin's behaviours file: read with every mistake named by its field, written onto the
workloads' pod templates as the simulator's annotations (defaults first, rules in order, the
user's own annotations kept), and a rule that takes nothing refused."""

from __future__ import annotations

import pytest

from cluster.twin.behaviours import annotate, read_behaviours, with_behaviours
from cluster.twin.inputs import Sourced, TwinInputError, TwinSources


def _workload(kind: str, name: str, ns: str = "shop", annotations: dict[str, str] | None = None) -> Sourced:
    template = {"metadata": {"labels": {"app": name}, **({"annotations": annotations} if annotations else {})}, "spec": {"containers": [{"name": "app"}]}}
    spec = {"jobTemplate": {"spec": {"template": template}}} if kind == "CronJob" else {"template": template}
    return Sourced({"kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}, "k8s/app.yaml")


def _annotations(item: Sourced) -> dict[str, str]:
    spec = item.obj["spec"]
    template = spec["jobTemplate"]["spec"]["template"] if item.kind == "CronJob" else spec["template"]
    return template["metadata"].get("annotations", {})


def test_rules_become_annotations_and_the_users_own_stay(tmp_path):
    f = tmp_path / "twin.yaml"
    f.write_text("defaults: {service_time_ms: 20}\n"
                 "workloads:\n"
                 "  - match: {namespace: shop, name: front*}\n    start: 15s\n    concurrency: 16\n"
                 "  - match: {name: cart, container: redis}\n    sigterm: ignore\n")
    items = [_workload("Deployment", "frontend", annotations={"sim.spotchaos.io/concurrency": "4"}), _workload("StatefulSet", "cart"),
             _workload("CronJob", "nightly"), Sourced({"kind": "Service", "metadata": {"name": "frontend"}}, "k8s/svc.yaml")]
    out, taken = annotate(items, read_behaviours(f))
    assert _annotations(out[0]) == {"sim.spotchaos.io/service-time-ms": "20", "sim.spotchaos.io/start-seconds": "15",
                                    "sim.spotchaos.io/concurrency": "4"}  # the user's own 4 wins over the rule's 16
    assert _annotations(out[1]) == {"sim.spotchaos.io/service-time-ms": "20", "sim.spotchaos.io/sigterm.redis": "ignore"}
    assert _annotations(out[2]) == {"sim.spotchaos.io/service-time-ms": "20"}
    assert out[3] is items[3]  # not a workload: as it was
    assert items[0].obj["spec"]["template"]["metadata"]["annotations"] == {"sim.spotchaos.io/concurrency": "4"}  # the input is not changed
    assert taken == {"workloads[0]": 1, "workloads[1]": 1}


@pytest.mark.parametrize(("text", "message"), [
    ("workloads:\n  - match: {name: a}\n    error_rate: 2\n", "workloads.0.error_rate: Input should be less than or equal to 1"),
    ("workloads:\n  - match: {name: a}\n    start: soon\n", "workloads.0.start: 'soon' is not a duration"),
    ("defaults: {sigterm: sometimes}\n", "defaults.sigterm"),
    ("workloads:\n  - match: {nmae: a}\n", "workloads.0.match.nmae: Extra inputs are not permitted; remove it"),
    ("- 1\n", "Input should be a valid dictionary"),
])
def test_mistakes_are_named_by_their_field(tmp_path, text, message):
    f = tmp_path / "twin.yaml"
    f.write_text(text)
    with pytest.raises(TwinInputError, match="behaviours .*twin.yaml") as caught:
        read_behaviours(f)
    assert message in str(caught.value)


def test_a_rule_that_matches_nothing_is_refused(tmp_path):
    f = tmp_path / "twin.yaml"
    f.write_text("workloads:\n  - match: {name: frontnd}\n    start: 5s\n")
    with pytest.raises(TwinInputError, match=r"workloads\[0\] match no workload"):
        with_behaviours(TwinSources(objects=[_workload("Deployment", "frontend")]), f)
