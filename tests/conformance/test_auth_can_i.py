"""`kubectl auth can-i` against the simulator: its SelfSubjectAccessReview is answered (allowed:
the simulator has no RBAC) and `--list` shows the one rule for everything, where before kubectl
got a 404."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_kubectl_auth_can_i_answers(sim: Any) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    base = ["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "auth", "can-i"]
    yes = subprocess.run([*base, "delete", "pods", "-n", "kube-system"], capture_output=True, text=True, timeout=60)
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes"), yes.stderr
    listed = subprocess.run([*base, "--list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "*.*" in listed.stdout, listed.stdout + listed.stderr
    core = sim.kube()[3]
    from kubernetes import client

    review = client.AuthorizationV1Api(core).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"verb": "evict", "resource": "pods", "namespace": "default"}}})
    assert review.status.allowed is True and review.spec.resource_attributes.verb == "evict"
