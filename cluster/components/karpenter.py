"""Karpenter's configuration as its controller reads it (pure): the settings from the controller
container's flags and env vars (karpenter-provider-aws pkg/operator/options/options.go and
kubernetes-sigs/karpenter pkg/operator/options/options.go: a flag wins over its env var), and
the parts of a NodePool (karpenter.sh/v1) that decide Spot capacity and voluntary disruption
(pkg/apis/v1/nodepool.go)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IMAGE_MARK = "karpenter/controller"  # public.ecr.aws/karpenter/controller
FLEXIBILITY_THRESHOLD = 5  # KPA instanceTypeFlexibilityThreshold: fewer types than this for Spot warns of an on-demand fallback


@dataclass(frozen=True)
class KarpenterSettings:
    cluster_name: str = ""
    interruption_queue: str = ""  # "" : "Interruption handling is disabled if not specified."
    batch_max_duration: str = "10s"
    batch_idle_duration: str = "1s"
    preference_policy: str = "Respect"  # Respect: preferred affinities and ScheduleAnyway spread are planned for; Ignore: not

    @property
    def handles_interruptions(self) -> bool:
        return bool(self.interruption_queue)


_SETTINGS = {"cluster_name": ("--cluster-name", "CLUSTER_NAME"), "interruption_queue": ("--interruption-queue", "INTERRUPTION_QUEUE"),
             "batch_max_duration": ("--batch-max-duration", "BATCH_MAX_DURATION"),
             "batch_idle_duration": ("--batch-idle-duration", "BATCH_IDLE_DURATION"),
             "preference_policy": ("--preference-policy", "PREFERENCE_POLICY")}


def is_karpenter(container: dict[str, Any]) -> bool:
    return IMAGE_MARK in str(container.get("image", ""))


def settings(container: dict[str, Any]) -> KarpenterSettings:
    env = {e["name"]: str(e.get("value", "")) for e in container.get("env") or [] if "name" in e and "valueFrom" not in e}
    args = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
    values: dict[str, str] = {}
    for field, (flag, var) in _SETTINGS.items():
        if env.get(var):
            values[field] = env[var]
        for i, a in enumerate(args):
            if a.startswith(flag + "="):
                values[field] = a.split("=", 1)[1]
            elif a == flag and i + 1 < len(args):
                values[field] = args[i + 1]
    return KarpenterSettings(**values)


# labels every Karpenter node has whatever its NodePool says (KC labels.go, KPA labels.go): a pod
# selecting on them can land on any pool
WELL_KNOWN = ("kubernetes.io/arch", "kubernetes.io/os", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
              "node.kubernetes.io/instance-type", "karpenter.sh/capacity-type", "kubernetes.io/hostname")


@dataclass(frozen=True)
class NodePoolFacts:
    name: str
    capacity_types: tuple[str, ...]  # what karpenter.sh/capacity-type allows; () : not constrained (on-demand only, by default)
    instance_types: tuple[str, ...] | None  # an explicit node.kubernetes.io/instance-type In list; None: not listed
    consolidation: str  # WhenEmpty | WhenEmptyOrUnderutilized | Balanced
    consolidate_after: str
    labels: dict[str, tuple[str, ...]]  # what its nodes may carry: template labels, single-key requirements, karpenter.sh/nodepool

    def may_host(self, node_selector: dict[str, str]) -> bool:
        """Whether a pod with this nodeSelector can be placed on the pool's nodes."""
        return all(k in WELL_KNOWN or v in self.labels.get(k, ()) for k, v in node_selector.items())

    @property
    def allows_spot(self) -> bool:
        return "spot" in self.capacity_types

    @property
    def consolidates_underutilized(self) -> bool:
        return self.consolidation != "WhenEmpty" and self.consolidate_after != "Never"


def _in_values(requirements: list[dict[str, Any]], key: str) -> tuple[str, ...] | None:
    for r in requirements:
        if r.get("key") == key and r.get("operator") == "In":
            return tuple(str(v) for v in r.get("values") or [])
    return None


def node_pool(obj: dict[str, Any]) -> NodePoolFacts:
    spec = obj.get("spec") or {}
    template = ((spec.get("template") or {}).get("spec")) or {}
    requirements = [r for r in template.get("requirements") or [] if isinstance(r, dict)]
    disruption = spec.get("disruption") or {}
    name = str((obj.get("metadata") or {}).get("name", ""))
    labels: dict[str, tuple[str, ...]] = {k: (str(v),) for k, v in (((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}).items()}
    for r in requirements:
        if r.get("operator") == "In" and r.get("key"):
            labels[str(r["key"])] = tuple(str(v) for v in r.get("values") or [])
    labels["karpenter.sh/nodepool"] = (name,)
    return NodePoolFacts(
        name=name,
        capacity_types=_in_values(requirements, "karpenter.sh/capacity-type") or ("on-demand",),
        instance_types=_in_values(requirements, "node.kubernetes.io/instance-type"),
        consolidation=str(disruption.get("consolidationPolicy") or "WhenEmptyOrUnderutilized"),
        consolidate_after=str(disruption.get("consolidateAfter") or "0s"),
        labels=labels,
    )
