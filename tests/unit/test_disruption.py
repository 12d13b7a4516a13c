from __future__ import annotations

from cluster.sim.kube.disruption import (
    budget_status,
    eviction_allowed,
    eviction_ignores_budget,
    pdb_selects,
)


def pod(name: str, ready: bool = True, phase: str = "Running", deleting: bool = False) -> dict:
    meta = {"name": name, "namespace": "ns", "labels": {"app": "a"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(**spec) -> dict:
    return {"metadata": {"name": "b", "namespace": "ns"}, "spec": {"selector": {"matchLabels": {"app": "a"}}, **spec}}


def test_min_available_counts_only_ready_pods_not_terminating():
    pods = [pod("1"), pod("2"), pod("3", ready=False), pod("4", deleting=True)]
    st = budget_status(pdb(minAvailable=2), pods, expected=4)
    assert (st.current_healthy, st.desired_healthy, st.disruptions_allowed) == (2, 2, 0)


def test_percentages_round_up_for_min_available_and_max_unavailable():
    pods = [pod(str(i)) for i in range(25)]
    assert budget_status(pdb(minAvailable="80%"), pods, 25).desired_healthy == 20
    assert budget_status(pdb(maxUnavailable="10%"), pods, 25).desired_healthy == 22  # 25 - ceil(2.5)


def test_unhealthy_pod_may_go_when_budget_is_met_and_pending_pods_ignore_budgets():
    b = pdb(minAvailable=1)
    st = budget_status(b, [pod("1"), pod("2", ready=False)], 2)
    assert st.disruptions_allowed == 0
    assert eviction_allowed(b, pod("2", ready=False), st)
    assert not eviction_allowed(b, pod("1"), st)
    assert eviction_ignores_budget(pod("x", phase="Pending"))
    assert pdb_selects(b, pod("1")) and not pdb_selects({**b, "spec": {"selector": {"matchLabels": {"app": "z"}}}}, pod("1"))
