"""Field ownership as server-side apply keeps it: the fieldsV1 form, conflicts, and who owns what
after an Apply (shared when the value is the same, taken only when forced) or an Update."""

from __future__ import annotations

from cluster.sim.kube import field_managers as fm

LIVE = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"team": "ml"}}, "data": {"a": "1", "b": "2"}}


def test_leaves_and_fields_v1_round_trip_without_the_servers_own_fields():
    paths = {p for p, _ in fm.leaves(LIVE)}
    assert paths == {("metadata", "labels", "team"), ("data", "a"), ("data", "b")}
    assert fm.to_fields_v1(paths) == {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:team": {}}}}
    assert fm.from_fields_v1(fm.to_fields_v1(paths)) == paths


def test_an_apply_conflicts_only_where_another_owns_a_field_it_changes():
    managed = fm.record([], "kubectl", "Apply", "v1", {("data", "a"), ("data", "b")}, "t0")
    assert fm.conflicts(LIVE, managed, "kubectl", {"data": {"a": "9"}}) == []  # its own field
    assert fm.conflicts(LIVE, managed, "other", {"data": {"a": "1"}}) == []  # the same value
    found = fm.conflicts(LIVE, managed, "other", {"data": {"a": "9", "c": "3"}})
    assert found == [("kubectl", "Apply", ("data", "a"))]
    assert fm.conflict_message(found, "v1") == 'Apply failed with 1 conflict: conflict with "kubectl": .data.a'


def test_ownership_is_shared_on_the_same_value_and_moves_when_taken():
    managed = fm.record([], "kubectl", "Apply", "v1", {("data", "a"), ("data", "b")}, "t0")
    shared = fm.record(managed, "other", "Apply", "v1", {("data", "a")}, "t1", taken=set())
    assert fm.owned(shared) == {("kubectl", "Apply"): {("data", "a"), ("data", "b")}, ("other", "Apply"): {("data", "a")}}
    forced = fm.record(managed, "other", "Apply", "v1", {("data", "a")}, "t1", taken={("data", "a")})
    assert fm.owned(forced) == {("kubectl", "Apply"): {("data", "b")}, ("other", "Apply"): {("data", "a")}}
    updated = fm.record(forced, "kubectl-edit", "Update", "v1", fm.changed_paths(LIVE, {**LIVE, "data": {"a": "1", "b": "7"}}), "t2")
    assert fm.owned(updated) == {("other", "Apply"): {("data", "a")}, ("kubectl-edit", "Update"): {("data", "b")}}  # kubectl's last field went


def test_unknown_fields_are_named_with_their_path_and_known_ones_pass():
    from cluster.sim.kube.field_validation import unknown_fields

    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                                                                                      "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    assert unknown_fields(dep) is None
    assert unknown_fields({**dep, "spec": {**dep["spec"], "replica": 2}}) == 'unknown field "spec.replica"'
    assert unknown_fields({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"x": 1}}) is None  # no schema: not checked
