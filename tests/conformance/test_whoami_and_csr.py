"""`kubectl auth whoami` (a SelfSubjectReview) answers with the identity EKS gives the cluster's
creator, and CertificateSigningRequests are served: `kubectl get csr` lists them with the real
server's columns.  Through kubectl."""

from __future__ import annotations

import base64
import subprocess
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def _kubectl(sim: Any, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, *args], capture_output=True, text=True, timeout=60, input=stdin)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_whoami_and_csrs_answer_as_on_eks(sim: Any) -> None:
    me = _kubectl(sim, "auth", "whoami")
    assert "kubernetes-admin" in me and "system:masters" in me
    assert _kubectl(sim, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}") == "kubernetes-admin"

    request = base64.b64encode(b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n").decode()
    csr = ("apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {name: whoami-test}\n"
           f"spec: {{request: {request}, signerName: kubernetes.io/kube-apiserver-client, expirationSeconds: 86400, usages: [client auth]}}\n")
    _kubectl(sim, "apply", "-f", "-", stdin=csr)
    listed = _kubectl(sim, "get", "csr").splitlines()
    assert listed[0].split() == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    row = next(line for line in listed if line.startswith("whoami-test"))
    assert "kubernetes.io/kube-apiserver-client" in row and row.split()[-1] == "Pending" and "kubernetes-admin" in row
