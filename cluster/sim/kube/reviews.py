"""Authorization reviews, answered as the API server answers them but by the simulator's one
rule: it has no authentication or authorization, so every request is allowed
(`kubectl auth can-i` says yes; `--list` shows one rule for everything).  Pure."""

from __future__ import annotations

from typing import Any

REASON = "the simulator authorizes every request (it has no RBAC)"
# who `kubectl auth whoami` says you are: the identity EKS maps the cluster's creator to in
# aws-auth (kubernetes-admin in system:masters); the simulator authenticates nobody
USER = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}


def review(kind: str, body: Any) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    if kind == "SelfSubjectReview":
        return {"kind": kind, "apiVersion": "authentication.k8s.io/v1", "metadata": {"creationTimestamp": None}, "status": {"userInfo": dict(USER)}}
    out = {"kind": kind, "apiVersion": "authorization.k8s.io/v1", "metadata": body.get("metadata") or {}, "spec": body.get("spec") or {}}
    if kind == "SelfSubjectRulesReview":
        out["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                         "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
    else:
        out["status"] = {"allowed": True, "reason": REASON}
    return out
