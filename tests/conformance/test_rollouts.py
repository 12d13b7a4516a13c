"""Rollouts as kubectl drives them against the simulator: `kubectl set env` on a DaemonSet rolls
its pods one by one to a new ControllerRevision (`rollout status` waits for the real pods, `rollout
history` lists the revisions), and a Deployment's revisions let `rollout history` and `rollout
undo` work.  kubectl is the real client; the simulator is driven only through it and the
Kubernetes client."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def kubectl(sim: Any) -> Any:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")

    def run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, *args], capture_output=True, text=True, timeout=timeout)

    return run


def _daemonset(name: str, group: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"nodeSelector": {"nodegroup-under-test": group},
                                           "containers": [{"name": "agent", "image": "busybox:1.36", "env": [{"name": "MODE", "value": "one"}]}]}}}}


def _env(pod: Any) -> dict[str, str]:
    return {e.name: e.value for e in pod.spec.containers[0].env or []}


def test_a_daemonset_rolls_its_pods_to_a_new_revision(sim: Any, kubectl: Any) -> None:
    core, apps, _, _ = sim.kube()
    node_group(sim, "ds-rollout", ("m5.large",), desired=2)
    wait_ready_nodes(core, "ds-rollout", 2, 60)
    ns = namespace(core, "ds-rollout")
    apps.create_namespaced_daemon_set(ns, _daemonset("agent", "ds-rollout"))
    first = wait_running(core, ns, "agent", 2, 60)
    (h1,) = {p.metadata.labels["controller-revision-hash"] for p in first}

    assert kubectl("set", "env", "ds/agent", "-n", ns, "MODE=two").returncode == 0
    status = kubectl("rollout", "status", "ds/agent", "-n", ns, "--timeout=60s")
    assert status.returncode == 0 and "successfully rolled out" in status.stdout, status.stdout + status.stderr
    pods = wait_running(core, ns, "agent", 2, 30)
    assert {p.metadata.name for p in pods}.isdisjoint({p.metadata.name for p in first})  # every pod replaced
    assert all(_env(p)["MODE"] == "two" for p in pods)
    (h2,) = {p.metadata.labels["controller-revision-hash"] for p in pods}
    assert h2 != h1
    revisions = {cr.metadata.name: cr.revision for cr in apps.list_namespaced_controller_revision(ns).items}
    assert revisions == {f"agent-{h1}": 1, f"agent-{h2}": 2}
    history = kubectl("rollout", "history", "ds/agent", "-n", ns)
    assert history.returncode == 0 and [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"], history.stdout

    # undo: kubectl patches the DaemonSet with revision 1's template ($patch: replace); the pods roll
    # back, and revision 1's ControllerRevision becomes revision 3, as the DaemonSet controller renumbers it
    undo = kubectl("rollout", "undo", "ds/agent", "-n", ns)
    assert undo.returncode == 0 and "rolled back" in undo.stdout, undo.stdout + undo.stderr
    status = kubectl("rollout", "status", "ds/agent", "-n", ns, "--timeout=60s")
    assert status.returncode == 0 and "successfully rolled out" in status.stdout, status.stdout + status.stderr
    back = wait_running(core, ns, "agent", 2, 30)
    assert all(_env(p)["MODE"] == "one" for p in back)
    assert {p.metadata.labels["controller-revision-hash"] for p in back} == {h1}
    revisions = {cr.metadata.name: cr.revision for cr in apps.list_namespaced_controller_revision(ns).items}
    assert revisions == {f"agent-{h1}": 3, f"agent-{h2}": 2}


def test_a_deployments_revisions_serve_rollout_history_and_undo(sim: Any, kubectl: Any) -> None:
    core, apps, _, _ = sim.kube()
    node_group(sim, "dep-rollout", ("m5.large",), desired=1)
    wait_ready_nodes(core, "dep-rollout", 1, 60)
    ns = namespace(core, "dep-rollout")
    apps.create_namespaced_deployment(ns, deployment("web", 2, "dep-rollout", cpu="100m"))
    wait_running(core, ns, "web", 2, 60)
    assert kubectl("set", "env", "deploy/web", "-n", ns, "COLOUR=blue").returncode == 0
    assert kubectl("rollout", "status", "deploy/web", "-n", ns, "--timeout=60s").returncode == 0
    history = kubectl("rollout", "history", "deploy/web", "-n", ns)
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"], history.stdout

    undo = kubectl("rollout", "undo", "deploy/web", "-n", ns)
    assert undo.returncode == 0, undo.stderr
    assert kubectl("rollout", "status", "deploy/web", "-n", ns, "--timeout=60s").returncode == 0
    wait_for(lambda: all("COLOUR" not in {e.name for e in p.spec.containers[0].env or []} for p in wait_running(core, ns, "web", 2, 30)), 30,
             "the pods back on the first template")
    dep = apps.read_namespaced_deployment("web", ns)
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "3"  # the first template, now the newest revision
    history = kubectl("rollout", "history", "deploy/web", "-n", ns)
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["2", "3"], history.stdout


def test_nth_runs_with_the_settings_its_pod_started_with_until_the_pod_is_replaced(sim: Any, kubectl: Any) -> None:
    """An OnDelete DaemonSet changed with `kubectl set env` keeps its running pods: the simulated NTH
    on that node keeps the settings its pod was started with (here: draining, not the new dry run)."""
    from cluster.manifests.nth import imds_daemonset
    from tests.integration.spot_helpers import control, instance_of, nth_running

    core, apps, _, _ = sim.kube()
    node_group(sim, "nth-ondelete", ("m5.large",), desired=1)
    (node,) = wait_ready_nodes(core, "nth-ondelete", 1, 60)
    ns = namespace(core, "nth-ondelete")
    ds = imds_daemonset({"EMIT_KUBERNETES_EVENTS": True}, namespace=ns, node_selector={"nodegroup-under-test": "nth-ondelete"})
    ds["spec"]["updateStrategy"] = {"type": "OnDelete"}
    apps.create_namespaced_daemon_set(ns, ds)
    nth_running(core, ns, 1)
    name = ds["metadata"]["name"]
    assert kubectl("set", "env", f"ds/{name}", "-n", ns, "DRY_RUN=true").returncode == 0
    # the status of the new generation, as `kubectl rollout status` waits for it (observedGeneration)
    changed = wait_for(lambda: (d := apps.read_namespaced_daemon_set(name, ns)).status.observed_generation == d.metadata.generation and d, 30,
                       "the DaemonSet controller to observe the new template")
    assert changed.status.updated_number_scheduled == 0  # the old pod still runs: nothing is updated yet
    assert control(sim, f"/v1/instances/{instance_of(node)}/spot-interruption", {})[0] == 201
    wait_for(lambda: core.read_node(node.metadata.name).spec.unschedulable, 30, "the node cordoned by the pod's own (non-dry-run) NTH")
