from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.selectors import (
    fields_match,
    labels_match,
    make_filter,
    parse_field_selector,
    parse_label_selector,
    selector_from_spec,
)


@pytest.mark.parametrize(
    ("expr", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "db"}, False),
        ("app!=web", {}, True),
        ("tier in (a, b),app", {"tier": "b", "app": "x"}, True),
        ("tier notin (a,b)", {"tier": "a"}, False),
        ("tier notin (a,b)", {}, True),
        ("!canary", {"canary": "1"}, False),
        ("lifecycle=Ec2Spot,intent=apps", {"lifecycle": "Ec2Spot", "intent": "apps"}, True),
    ],
)
def test_label_selector(expr, labels, expected):
    assert labels_match(parse_label_selector(expr), labels) is expected


def test_selector_from_spec_expressions():
    reqs = selector_from_spec({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "In", "values": ["x"]}, {"key": "c", "operator": "DoesNotExist"}]})
    assert labels_match(reqs, {"a": "1", "b": "x"})
    assert not labels_match(reqs, {"a": "1", "b": "x", "c": ""})


def test_field_selector_on_nested_fields():
    pod = {"metadata": {"name": "p", "namespace": "n"}, "spec": {"nodeName": "node-1", "unschedulable": True}, "status": {"phase": "Running"}}
    assert fields_match(parse_field_selector("spec.nodeName=node-1,status.phase!=Pending"), pod)
    assert not fields_match(parse_field_selector("metadata.name=q"), pod)
    assert fields_match(parse_field_selector("spec.unschedulable=true"), pod)
    assert make_filter(None, None) is None


def test_bad_selector_is_a_400_naming_it():
    with pytest.raises(ApiError) as err:
        parse_field_selector("nonsense")
    assert err.value.code == 400 and "nonsense" in err.value.message


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), st.from_regex(r"[a-z0-9]{0,8}", fullmatch=True), max_size=5))
def test_equality_selectors_built_from_labels_match_them(labels):
    expr = ",".join(f"{k}={v}" for k, v in labels.items())
    assert labels_match(parse_label_selector(expr), labels)
