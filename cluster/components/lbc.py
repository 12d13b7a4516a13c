"""The AWS Load Balancer Controller's Ingress annotations and their defaults (pure).

Source: kubernetes-sigs/aws-load-balancer-controller docs/guide/ingress/annotations.md; the
IngressGroup rules from pkg/ingress/group_loader.go (group name, order, members sorted by order
then namespace/name), the name of a group's load balancer from model_build_load_balancer.go, and
the order of an Ingress's paths from model_build_listener_rules.go (sortIngressPaths).
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


GROUP_NAME = re.compile(r"^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$")
GROUP_ORDER = (-1000, 1000)


@dataclass(frozen=True, order=True)
class GroupId:
    """An IngressGroup: explicit (`group.name`, namespace "") or the implicit group of one Ingress."""

    namespace: str
    name: str

    @property
    def explicit(self) -> bool:
        return not self.namespace

    def __str__(self) -> str:
        return self.name if self.explicit else f"{self.namespace}/{self.name}"


def group_id(ingress: dict[str, Any]) -> GroupId:
    meta = ingress["metadata"]
    name = (meta.get("annotations") or {}).get(PREFIX + "group.name")
    if name is None:
        return GroupId(meta.get("namespace", "default"), meta["name"])
    if not GROUP_NAME.match(name):
        raise AnnotationError("groupName must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
    if len(name) > 63:
        raise AnnotationError("groupName must be no more than 63 characters")
    return GroupId("", name)


def group_order(ingress: dict[str, Any]) -> int:
    order = _int(ingress["metadata"].get("annotations") or {}, "group.order", 0)
    if not GROUP_ORDER[0] <= order <= GROUP_ORDER[1]:
        meta = ingress["metadata"]
        raise AnnotationError(f"explicit Ingress group order must be within [{GROUP_ORDER[0]}:{GROUP_ORDER[1]}], "
                              f"Ingress: {meta.get('namespace')}/{meta['name']}, order: {order}")
    return order


def sorted_members(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A group's Ingresses in the order their rules go on the listener: group.order, then namespace/name."""
    return sorted(members, key=lambda i: (group_order(i), f"{i['metadata'].get('namespace')}/{i['metadata']['name']}"))


def sorted_paths(paths: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One Ingress rule's paths in LBC's order (v2.4.3+): Exact, then Prefix longest first, then
    ImplementationSpecific as listed."""
    by_type: dict[str, list[dict[str, Any]]] = {"Exact": [], "Prefix": [], "ImplementationSpecific": []}
    for p in paths:
        kind = p.get("pathType") or "ImplementationSpecific"
        if kind not in by_type:
            raise AnnotationError(f"unknown pathType for path {p.get('path', '')}")
        by_type[kind].append(p)
    return by_type["Exact"] + sorted(by_type["Prefix"], key=lambda p: -len(p.get("path") or "")) + by_type["ImplementationSpecific"]


def exclusive(values: dict[str, str], what: str) -> str:
    """An annotation each member of a group must give alike ("Exclusive" merge behaviour)."""
    distinct = set(values.values())
    if len(distinct) > 1:
        raise AnnotationError(f"conflicting {what}: {sorted(distinct)}")
    return next(iter(distinct))


def _short(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:10]


def _clean(s: str, n: int) -> str:
    return re.sub(r"[^a-zA-Z0-9]", "", s)[:n]


def load_balancer_name(namespace: str, ingress: str) -> str:
    """LBC's naming: k8s-<namespace>-<ingress>-<hash>, at most 32 characters."""
    return f"k8s-{_clean(namespace, 8)}-{_clean(ingress, 8)}-{_short(namespace, ingress)}"


def group_load_balancer_name(group: GroupId, cluster: str, scheme: str) -> str:
    """A group's load balancer: the implicit group's name as one Ingress's; an explicit group's
    k8s-<group name>-<hash of cluster, group and scheme>."""
    if not group.explicit:
        return load_balancer_name(group.namespace, group.name)
    digest = hashlib.sha256(f"{cluster}{group.name}{scheme}".encode()).hexdigest()
    return f"k8s-{_clean(group.name, 17)}-{digest[:10]}"


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
