"""The AWS Load Balancer Controller's Ingress annotations and their defaults (pure).

Source: kubernetes-sigs/aws-load-balancer-controller docs/guide/ingress/annotations.md.
LBC's health-check defaults differ from plain ELBv2's: interval 15 s, timeout 5 s, healthy 2,
unhealthy 2, path /, success codes 200, port traffic-port.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from cluster.kube_views import has_taint, is_ready

PREFIX = "alb.ingress.kubernetes.io/"
INGRESS_CLASS = "alb"
FINALIZER = "ingress.k8s.aws/resources"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
CA_DELETION_TAINT = "ToBeDeletedByClusterAutoscaler"


class AnnotationError(ValueError):
    """An annotation LBC would reject; the message is the event LBC records."""


@dataclass(frozen=True)
class IngressSettings:
    scheme: str
    target_type: str
    hc_path: str
    hc_port: str
    hc_interval: int
    hc_timeout: int
    healthy: int
    unhealthy: int
    success_codes: str
    tg_attributes: dict[str, str]
    node_labels: dict[str, str]
    listen_port: int


def is_alb_ingress(ingress: dict[str, Any]) -> bool:
    spec = ingress.get("spec") or {}
    annotations = ingress["metadata"].get("annotations") or {}
    return spec.get("ingressClassName") == INGRESS_CLASS or annotations.get("kubernetes.io/ingress.class") == INGRESS_CLASS


def _pairs(raw: str, field: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        if "=" not in part:
            raise AnnotationError(f"failed to parse stringMap annotation, {PREFIX}{field}: {raw}")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _int(annotations: dict[str, str], key: str, default: int) -> int:
    raw = annotations.get(PREFIX + key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise AnnotationError(f"failed to parse integer annotation, {PREFIX}{key}: {raw}") from None


def settings(ingress: dict[str, Any]) -> IngressSettings:
    a = ingress["metadata"].get("annotations") or {}
    target_type = a.get(PREFIX + "target-type", "instance")
    if target_type not in ("instance", "ip"):
        raise AnnotationError(f"unknown targetType: {target_type}")
    scheme = a.get(PREFIX + "scheme", "internal")
    if scheme not in ("internal", "internet-facing"):
        raise AnnotationError(f"unknown scheme: {scheme}")
    listen_port = 80
    raw_ports = a.get(PREFIX + "listen-ports")
    if raw_ports:
        found = re.findall(r'"HTTP"\s*:\s*(\d+)', raw_ports)
        if not found:
            raise AnnotationError(f"failed to parse listen-ports: {raw_ports} (only HTTP listeners are simulated)")
        listen_port = int(found[0])
    return IngressSettings(
        scheme=scheme,
        target_type=target_type,
        hc_path=a.get(PREFIX + "healthcheck-path", "/"),
        hc_port=a.get(PREFIX + "healthcheck-port", "traffic-port"),
        hc_interval=_int(a, "healthcheck-interval-seconds", 15),
        hc_timeout=_int(a, "healthcheck-timeout-seconds", 5),
        healthy=_int(a, "healthy-threshold-count", 2),
        unhealthy=_int(a, "unhealthy-threshold-count", 2),
        success_codes=a.get(PREFIX + "success-codes", "200"),
        tg_attributes=_pairs(a.get(PREFIX + "target-group-attributes", ""), "target-group-attributes"),
        node_labels=_pairs(a.get(PREFIX + "target-node-labels", ""), "target-node-labels"),
        listen_port=listen_port,
    )


def _short(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:10]


def _clean(s: str, n: int) -> str:
    return re.sub(r"[^a-zA-Z0-9]", "", s)[:n]


def load_balancer_name(namespace: str, ingress: str) -> str:
    """LBC's naming: k8s-<namespace>-<ingress>-<hash>, at most 32 characters."""
    return f"k8s-{_clean(namespace, 8)}-{_clean(ingress, 8)}-{_short(namespace, ingress)}"


def target_group_name(namespace: str, service: str, port: str) -> str:
    return f"k8s-{_clean(namespace, 8)}-{_clean(service, 8)}-{_short(namespace, service, port)}"


def node_is_target(node: dict[str, Any], node_labels: dict[str, str]) -> bool:
    """Which nodes LBC registers in instance mode: Ready, not excluded from load balancers, not
    being deleted by Cluster Autoscaler, and matching target-node-labels.  Cordoning does not
    remove a node."""
    labels = node["metadata"].get("labels") or {}
    if EXCLUDE_LABEL in labels:
        return False
    if has_taint(node, CA_DELETION_TAINT):
        return False
    if any(labels.get(k) != v for k, v in node_labels.items()):
        return False
    return is_ready(node)


def instance_id(node: dict[str, Any]) -> str | None:
    provider = node.get("spec", {}).get("providerID") or ""
    return provider.rsplit("/", 1)[-1] if provider.startswith("aws://") else None


def matches_codes(matcher: str, code: int) -> bool:
    """An ELBv2 target group's success-code matcher (`success-codes`): '200', '200,202', '200-399'."""
    for part in matcher.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            if int(lo) <= code <= int(hi):
                return True
        elif part and int(part) == code:
            return True
    return False
