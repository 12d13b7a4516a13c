"""Who the add-ons are to Kubernetes and to AWS: their ServiceAccounts (annotated with IRSA role
ARNs where they call AWS), the RBAC their charts grant, and the aws-auth mapping that lets the
self-managed nodes' role join the cluster."""

from __future__ import annotations

from typing import Any

import yaml

from cluster import resource_names as names
from cluster.manifests import cluster_autoscaler, nth
from cluster.manifests.controllers import LBC_NAME, METRICS_SERVER_NAME

Obj = dict[str, Any]
Rule = tuple[list[str], list[str], list[str]]  # apiGroups, resources, verbs

NTH_RULES: list[Rule] = [
    ([""], ["nodes"], ["get", "list", "patch", "update"]),
    ([""], ["pods"], ["list", "get"]),
    ([""], ["pods/eviction"], ["create"]),
    (["apps", "extensions"], ["daemonsets"], ["get"]),
    ([""], ["events"], ["create"]),
]
CA_RULES: list[Rule] = [
    ([""], ["events", "endpoints"], ["create", "patch"]),
    ([""], ["pods/eviction"], ["create"]),
    ([""], ["pods/status"], ["update"]),
    ([""], ["nodes"], ["watch", "list", "create", "delete", "get", "update"]),
    ([""], ["namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes"], ["watch", "list", "get"]),
    (["batch"], ["jobs", "cronjobs"], ["watch", "list", "get"]),
    (["apps", "extensions"], ["daemonsets", "replicasets", "statefulsets"], ["watch", "list", "get"]),
    (["policy"], ["poddisruptionbudgets"], ["watch", "list"]),
    (["storage.k8s.io"], ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities"], ["watch", "list", "get"]),
    (["coordination.k8s.io"], ["leases"], ["create", "get", "update"]),
]
CA_NAMESPACE_RULES: list[Rule] = [([""], ["configmaps"], ["create", "list", "watch", "get", "update", "delete"])]
LBC_RULES: list[Rule] = [
    (["elbv2.k8s.aws"], ["targetgroupbindings"], ["create", "delete", "get", "list", "patch", "update", "watch"]),
    (["elbv2.k8s.aws"], ["ingressclassparams"], ["get", "list", "watch"]),
    ([""], ["events"], ["create", "patch"]),
    ([""], ["pods", "nodes", "namespaces", "endpoints"], ["get", "list", "watch"]),
    (["networking.k8s.io"], ["ingressclasses"], ["get", "list", "watch"]),
    (["", "extensions", "networking.k8s.io"], ["services", "ingresses"], ["get", "list", "patch", "update", "watch"]),
    (["elbv2.k8s.aws", "", "extensions", "networking.k8s.io"], ["targetgroupbindings/status", "pods/status", "services/status", "ingresses/status"], ["update", "patch"]),
    (["discovery.k8s.io"], ["endpointslices"], ["get", "list", "watch"]),
]
LBC_NAMESPACE_RULES: list[Rule] = [([""], ["configmaps"], ["create", "get", "patch", "update"]), (["coordination.k8s.io"], ["leases"], ["create", "get", "update", "patch"])]
METRICS_SERVER_RULES: list[Rule] = [([""], ["nodes/metrics"], ["get"]), ([""], ["pods", "nodes"], ["get", "list", "watch"])]


def service_account(name: str, namespace: str, role_arn: str | None = None) -> Obj:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if role_arn:
        meta["annotations"] = {"eks.amazonaws.com/role-arn": role_arn}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def _rules(rules: list[Rule]) -> list[dict[str, list[str]]]:
    return [{"apiGroups": g, "resources": r, "verbs": v} for g, r, v in rules]


def _bound(name: str, namespace: str, rules: list[Rule], namespace_rules: list[Rule] | None = None) -> list[Obj]:
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
    rbac = "rbac.authorization.k8s.io/v1"
    out = [
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": name}, "rules": _rules(rules)},
        {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}, "subjects": subject},
    ]
    if namespace_rules:
        out += [
            {"apiVersion": rbac, "kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": _rules(namespace_rules)},
            {"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}, "subjects": subject},
        ]
    return out


def add_on_identities(cluster: str, account: str, nth_queue_mode: bool, metrics_server: bool, nth_deployed: bool = True,
                      autoscaler: bool = True) -> list[Obj]:
    ns = "kube-system"
    objects = [
        *([service_account(nth.NAME, ns, names.role_arn(account, cluster, names.NTH_ROLE) if nth_queue_mode else None),
           *_bound(nth.NAME, ns, NTH_RULES)] if nth_deployed else []),
        *([service_account(cluster_autoscaler.NAME, ns, names.role_arn(account, cluster, names.CA_ROLE)),
           *_bound(cluster_autoscaler.NAME, ns, CA_RULES, CA_NAMESPACE_RULES)] if autoscaler else []),
        service_account(LBC_NAME, ns, names.role_arn(account, cluster, names.LBC_ROLE)),
        *_bound(LBC_NAME, ns, LBC_RULES, LBC_NAMESPACE_RULES),
    ]
    if metrics_server:
        objects += [service_account(METRICS_SERVER_NAME, ns), *_bound(METRICS_SERVER_NAME, ns, METRICS_SERVER_RULES)]
    return objects


def aws_auth(account: str, cluster: str) -> Obj:
    """kube-system/aws-auth mapping the node role to system:nodes (the CONFIG_MAP half of API_AND_CONFIG_MAP)."""
    roles = [{"rolearn": names.role_arn(account, cluster, names.NODE_ROLE), "username": "system:node:{{EC2PrivateDNSName}}",
              "groups": ["system:bootstrappers", "system:nodes"]}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {"mapRoles": yaml.safe_dump(roles, sort_keys=False)}}
