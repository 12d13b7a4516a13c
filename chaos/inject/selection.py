"""Which nodes an injection takes: the selection's filters over the cluster's Ready nodes, then a
count, a percentage (rounded up) or explicit instances.  Pure and seeded, so the plan a dry run
shows is the choice the run makes on the same cluster."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from chaos.errors import InjectionError
from chaos.fields import Strict
from chaos.journal import Record, of
from chaos.journal.records import NodeRecord, PodRecord
from cluster.profiles import MAX_NODES


class Selection(Strict):
    count: int | None = Field(None, ge=1, le=MAX_NODES, description="Interrupt this many nodes.")
    percent: float | None = Field(None, gt=0, le=100, description="Interrupt this share of the matching nodes (rounded up).")
    node_group: str | None = Field(None, description="Only nodes of this node group (eks.amazonaws.com/nodegroup).")
    az: str | None = Field(None, description="Only nodes in this availability zone.")
    instance_type: str | None = None
    capacity_type: Literal["SPOT", "ON_DEMAND"] | None = Field("SPOT", description="Only SPOT (default) or ON_DEMAND nodes.")
    serving_pods: bool = Field(False, description="Only nodes that run at least one Ready pod of the service under test.")
    instances: list[str] = Field(default_factory=list, description="Exactly these instance ids.")

    @model_validator(mode="after")
    def _one_way(self) -> Selection:
        ways = [w for w, v in (("count", self.count), ("percent", self.percent), ("instances", self.instances or None)) if v is not None]
        if len(ways) > 1:
            raise ValueError(f"choose nodes one way: {' or '.join(ways)}, not both")
        if any(not re.fullmatch(r"i-[0-9a-f]{8,17}", i) for i in self.instances):
            raise ValueError("instances: instance ids look like i-0123456789abcdef0")
        return self


@dataclass(frozen=True)
class Candidate:
    node: str
    instance: str
    group: str | None
    az: str | None
    type: str | None
    capacity: str | None
    serving_pods: int = 0  # Ready pods of the service under test on the node

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "instance": self.instance, "group": self.group, "az": self.az, "type": self.type, "capacity": self.capacity,
                "serving_pods": self.serving_pods}


def of_deployment(r: PodRecord, namespace: str, deployment: str) -> bool:
    """Whether the pod is one of `deployment`'s: owned by one of its ReplicaSets
    (`<deployment>-<pod-template-hash>`).  A name prefix is not enough: `catalog-mysql-0`, a
    StatefulSet's pod, starts with `catalog-` too.  A journal from before owners were recorded:
    the name a ReplicaSet gives its pods, `<deployment>-<hash>-<5 characters>`."""
    ns, _, name = r.pod.partition("/")
    if ns != namespace:
        return False
    if r.owner is not None:
        return r.owner_kind == "ReplicaSet" and r.owner.rsplit("-", 1)[0] == deployment
    return r.owner_kind in (None, "ReplicaSet") and re.fullmatch(rf"{re.escape(deployment)}-[a-z0-9]+-[a-z0-9]{{5}}", name) is not None


def serving_pods_per_node(records: Iterable[Record], namespace: str, deployment: str) -> dict[str, int]:
    """Ready, live pods of `deployment` per node, from the latest pod records."""
    latest: dict[str, PodRecord] = {}
    for r in of(records, PodRecord):
        if of_deployment(r, namespace, deployment):
            latest[r.pod] = r
    counts: dict[str, int] = {}
    for r in latest.values():
        if r.node and r.ready and not r.terminating and not r.deleted:
            counts[r.node] = counts.get(r.node, 0) + 1
    return counts


def candidates(records: Iterable[Record], serving: dict[str, int] | None = None) -> list[Candidate]:
    """Ready, schedulable nodes with an instance behind them, from the latest node records."""
    latest: dict[str, NodeRecord] = {}
    for r in of(records, NodeRecord):
        latest[r.node] = r
    return sorted((Candidate(r.node, r.instance, r.group, r.az, r.type, r.capacity, (serving or {}).get(r.node, 0))
                   for r in latest.values() if r.ready and not r.deleted and not r.unschedulable and r.instance),
                  key=lambda c: c.node)


def matching(sel: Selection, nodes: list[Candidate]) -> list[Candidate]:
    return [c for c in nodes
            if (sel.node_group is None or c.group == sel.node_group)
            and (sel.az is None or c.az == sel.az)
            and (sel.instance_type is None or c.type == sel.instance_type)
            and (sel.capacity_type is None or c.capacity == sel.capacity_type)
            and (not sel.serving_pods or c.serving_pods > 0)]


def how_many(sel: Selection, available: int) -> int:
    if sel.count is not None:
        return sel.count
    if sel.percent is not None:
        return max(1, math.ceil(available * sel.percent / 100))
    return len(sel.instances)


def choose(sel: Selection, nodes: list[Candidate], exclude: set[str], seed: str, where: str) -> list[Candidate]:
    if sel.instances:
        by_instance = {c.instance: c for c in nodes}
        missing = [i for i in sel.instances if i not in by_instance]
        if missing:
            raise InjectionError(f"{where}.select.instances: {', '.join(missing)} is not a Ready node of this cluster")
        return [by_instance[i] for i in sel.instances]
    pool = [c for c in matching(sel, nodes) if c.instance not in exclude]
    wanted = how_many(sel, len(pool))
    if wanted > len(pool):
        filters = ", ".join(f"{k}={v}" for k, v in (("node_group", sel.node_group), ("az", sel.az), ("instance_type", sel.instance_type), ("capacity_type", sel.capacity_type),
                                                    ("serving_pods", sel.serving_pods)) if v)
        raise InjectionError(f"{where}.select: wants {wanted} nodes but only {len(pool)} Ready nodes match ({filters or 'no filter'}); "
                             "select fewer or widen the filters")
    return sorted(random.Random(seed).sample(pool, wanted), key=lambda c: c.node)
