"""The status Karpenter writes on its NodePools and EC2NodeClasses (pure): a NodeClass is Ready
once its subnet, security group and AMI selectors resolve (with them and its instance profile
listed), a NodePool counts its nodes and their resources and is Ready when its NodeClass is
(kubernetes-sigs/karpenter pkg/apis/v1/nodepool_status.go, karpenter-provider-aws
pkg/apis/v1/ec2nodeclass_status.go), so `kubectl wait --for=condition=Ready` returns."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from cluster.quantities import bytes_of, format_bytes_ki, format_millicores, millicores

Obj = dict[str, Any]


def conditions(previous: list[Obj] | None, wanted: list[tuple[str, bool, str, str]], now_iso: str, generation: int) -> list[Obj]:
    """Conditions as controllers write them: lastTransitionTime kept while the status holds."""
    before = {c.get("type"): c for c in previous or []}
    out = []
    for kind, ok, reason, message in wanted:
        status = "True" if ok else "False"
        old = before.get(kind)
        since = old["lastTransitionTime"] if old is not None and old.get("status") == status and old.get("lastTransitionTime") else now_iso
        out.append({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": since, "observedGeneration": generation})
    return out


def nodeclass_status(node_class: Mapping[str, Any], subnets: Mapping[str, str], ami: str, cluster: str, now_iso: str) -> Obj:
    """`subnets`: zone -> subnet id, as the class's subnetSelectorTerms resolve them."""
    spec, meta = node_class.get("spec") or {}, node_class.get("metadata") or {}
    role = str(spec.get("role") or "")
    profile = spec.get("instanceProfile") or f"{cluster}_{int(hashlib.sha256(f'{cluster}{role}'.encode()).hexdigest()[:15], 16)}"
    ready = bool(subnets)
    wanted = [("SubnetsReady", ready, "SubnetsReady" if ready else "SubnetsNotFound", "" if ready else "SubnetSelector did not match any Subnets"),
              ("SecurityGroupsReady", True, "SecurityGroupsReady", ""), ("AMIsReady", True, "AMIsReady", ""),
              ("InstanceProfileReady", True, "InstanceProfileReady", ""), ("ValidationSucceeded", True, "ValidationSucceeded", ""),
              ("Ready", ready, "Ready" if ready else "SubnetsNotReady", "" if ready else "SubnetsReady=False")]
    previous = ((node_class.get("status") or {}).get("conditions")) or []
    return {"subnets": [{"id": s, "zone": z} for z, s in sorted(subnets.items())], "securityGroups": [],
            "amis": [{"id": ami, "name": "amazon-eks-node-al2023", "requirements": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}],
            "instanceProfile": profile, "conditions": conditions(previous, wanted, now_iso, int(meta.get("generation", 1)))}


def nodepool_status(pool: Mapping[str, Any], nodes: list[Obj], class_ready: bool, now_iso: str) -> Obj:
    """`nodes`: the pool's nodes (labelled karpenter.sh/nodepool with its name)."""
    cpu = mem = pods = 0
    for node in nodes:
        capacity = (node.get("status") or {}).get("capacity") or {}
        cpu += millicores(capacity.get("cpu") or 0)
        mem += bytes_of(capacity.get("memory") or 0)
        pods += int(str(capacity.get("pods") or 0))
    resources = {"cpu": format_millicores(cpu), "memory": format_bytes_ki(mem), "nodes": str(len(nodes)), "pods": str(pods),
                 "ephemeral-storage": "0"}
    wanted = [("ValidationSucceeded", True, "ValidationSucceeded", ""),
              ("NodeClassReady", class_ready, "NodeClassReady" if class_ready else "NodeClassNotReady", "" if class_ready else "NodeClass not ready"),
              ("Ready", class_ready, "Ready" if class_ready else "NodeClassNotReady", "" if class_ready else "NodeClassReady=False")]
    previous = ((pool.get("status") or {}).get("conditions")) or []
    return {"resources": resources, "nodes": len(nodes),
            "conditions": conditions(previous, wanted, now_iso, int((pool.get("metadata") or {}).get("generation", 1)))}

