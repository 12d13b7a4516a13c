"""The Kubernetes version the simulated cluster reports: the API server's /version and every
kubelet's nodeInfo (EKS 1.31, as the profiles default to)."""

from __future__ import annotations

KUBE_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.2-eks-spotchaos",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
