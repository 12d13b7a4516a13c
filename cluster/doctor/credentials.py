"""Checks for long-lived AWS keys kept in the cluster's Secrets."""

from __future__ import annotations

from cluster.doctor.findings import Finding, Inventory, Level, name_of
from cluster.doctor.serving import SECRET_KEY_NAMES


def check(inv: Inventory) -> list[Finding]:
    out = []
    for s in inv.of_kind("Secret"):
        keys = {str(k).lower() for k in list(s.get("data") or {}) + list(s.get("stringData") or {})}
        if keys & set(SECRET_KEY_NAMES):
            out.append(Finding("static-credentials", Level.ERROR, name_of(s), "holds AWS access keys",
                               "long-lived keys in the cluster leak and never rotate", "use IRSA or EKS Pod Identity and delete the Secret"))
    return out
