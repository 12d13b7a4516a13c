"""A cluster kept in a running simulator has settled when nothing the runs before left is still
recovering; what stays as it is (a stopped instance, an unhealthy target) is never waited on.
Journals written by hand, as in test_verdicts."""

from __future__ import annotations

from chaos.run.settled import describe, unsettled
from tests.records import typed


def _node(name: str, instance: str, t: float = 1.0, **kw) -> dict:
    return {"t": t, "kind": "node", "node": name, "instance": instance, "group": "spot", "ready": True, "unschedulable": False,
            "nth_taint": False, "karpenter_taint": False, "exclude_lb": False, "deleted": False, **kw}


def _instance(iid: str, state: str = "running", t: float = 1.0, group: str | None = "spot") -> dict:
    return {"t": t, "kind": "instance", "instance": iid, "state": state, "group": group}


def _target(target: str, state: str = "healthy", t: float = 1.0) -> dict:
    return {"t": t, "kind": "target", "group": "tg", "target": target, "port": 8080, "state": state}


def _settled() -> list[dict]:
    return [_node("a", "i-a"), _node("b", "i-b"), _instance("i-a"), _instance("i-b"), _target("10.0.0.1"), _target("10.0.0.2"),
            {"t": 1.0, "kind": "deployment", "namespace": "shop", "name": "frontend", "desired": 4, "ready": 4}]


def _problems(records: list[dict]) -> list[str]:
    return unsettled(typed(sorted(records, key=lambda r: r["t"])), "shop", "frontend")


def test_a_cluster_with_nothing_recovering_has_settled():
    assert _problems(_settled()) == []


def test_each_thing_a_spot_interruption_leaves_recovering_is_named():
    records = _settled() + [
        _node("b", "i-b", t=2.0, nth_taint=True, unschedulable=True),  # being drained
        _instance("i-c", "pending", t=2.0),  # its replacement
        _instance("i-d", t=2.0),  # booted, no node registered yet
        _target("10.0.0.2", "draining", t=2.0),
        {"t": 2.0, "kind": "deployment", "namespace": "shop", "name": "frontend", "desired": 4, "ready": 3},
        {"t": 2.0, "kind": "nodeclaim", "nodeclaim": "default-x", "launched": True, "initialized": False},
    ]
    assert _problems(records) == [
        "node b tainted by NTH, cordoned", "instance i-c pending", "instance i-d of spot running without its node yet",
        "target 10.0.0.2:8080 of tg draining", "Deployment shop/frontend 3 of 4 Ready", "NodeClaim default-x launched, not yet initialized",
    ]
    assert describe(_problems(records)).endswith("; and 2 more")


def test_the_latest_record_of_each_thing_counts():
    records = _settled() + [_node("c", "i-c", t=2.0, ready=False), _instance("i-c", t=2.0), _target("10.0.0.3", "initial", t=2.0)]
    assert _problems(records) == ["node c NotReady", "target 10.0.0.3:8080 of tg initial"]
    records += [_node("c", "i-c", t=3.0), _target("10.0.0.3", t=3.0)]
    assert _problems(records) == []
    records += [_node("c", "i-c", t=4.0, ready=False, deleted=True), _instance("i-c", "terminated", t=4.0)]
    assert _problems(records) == []


def test_what_stays_as_it_is_is_not_waited_for():
    """An AZ power interruption leaves on-demand instances stopped and their nodes NotReady until
    someone starts them; an unhealthy target is the service's state, not a recovery; an instance
    outside any group (a load shard's, a bastion) needs no node."""
    records = _settled() + [_node("b", "i-b", t=2.0, ready=False), _instance("i-b", "stopped", t=2.0), _target("10.0.0.2", "unhealthy", t=2.0),
                            _instance("i-x", t=2.0, group=None)]
    assert _problems(records) == []
