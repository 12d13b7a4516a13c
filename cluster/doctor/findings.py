"""What doctor reads and what it reports: the cluster's objects grouped by kind, its node groups,
and findings that say what is wrong, why it matters when a Spot instance is reclaimed, and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

Obj = dict[str, Any]
NOTICE_SECONDS = 120  # EC2's two-minute warning
MANAGED_GROUP_TAG = "eks:nodegroup-name"


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class NodeGroupFacts:
    name: str
    instance_types: tuple[str, ...]
    spot: bool
    max_size: int
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def managed(self) -> bool:
        """An EKS managed node group: EKS tags its Auto Scaling group with the group's name."""
        return MANAGED_GROUP_TAG in self.tags


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    subject: str
    problem: str
    why: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Inventory:
    """The objects and node groups one doctor run judges (node_groups None: not known)."""

    objects: tuple[Obj, ...]
    node_groups: tuple[NodeGroupFacts, ...] | None = None

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [o for o in self.objects if o.get("kind") in kinds]

    def containers(self, *kinds: str) -> Iterator[tuple[Obj, Obj]]:
        """(workload, container) for every container of the workloads of these kinds."""
        for w in self.of_kind(*kinds):
            for c in containers(w):
                yield w, c


def pod_spec(obj: Obj) -> Obj:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


def containers(obj: Obj) -> list[Obj]:
    return [c for c in pod_spec(obj).get("containers") or [] if isinstance(c, dict)]


def pod_labels(obj: Obj) -> dict[str, str]:
    return (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def name_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    namespaced = obj.get("kind") not in ("Namespace", "IngressClass")
    return f"{obj.get('kind')} {meta.get('namespace', 'default') + '/' if namespaced else ''}{meta.get('name')}"


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())
