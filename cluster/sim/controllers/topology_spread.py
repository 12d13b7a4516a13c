"""kube-scheduler's PodTopologySpread plugin, pure: a pod's spread constraints, the matching pods
per topology domain over the nodes the constraints count, the Filter for DoNotSchedule
(`matchNum + selfMatch - globalMin <= maxSkew`, the global minimum 0 while fewer domains than
minDomains exist) and the Score for ScheduleAnyway (fewer matching pods in a node's domain
scores higher).

Source: kubernetes pkg/scheduler/framework/plugins/podtopologyspread (filtering.go: calPreFilterState,
Filter, minMatchNum; common.go: matchLabelKeys, node inclusion policies; scoring.go).  Nodes count
when they carry every constraint's topology key and pass the inclusion policies
(nodeAffinityPolicy Honor: the pod's nodeSelector and required node affinity; nodeTaintsPolicy
Ignore: taints do not matter unless Honor); terminating pods are not counted.  A pod without
constraints gets the system defaults, which are ScheduleAnyway only (hostname maxSkew 3, zone
maxSkew 5): this simulator's scheduler already spreads one owner's pods in its scoring, so those
are left to it."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cluster.sim.controllers.scheduling import (
    NodeInfo,
    node_selector_matches,
    selector_matches,
    tolerates,
)

CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
NODE_LABEL_NOT_MATCH = CONSTRAINTS_NOT_MATCH + " (missing required label)"


@dataclass(frozen=True)
class SpreadConstraint:
    max_skew: int
    key: str
    hard: bool  # whenUnsatisfiable: DoNotSchedule (a filter) or ScheduleAnyway (a score)
    selector: Mapping[str, Any]  # a LabelSelector, with matchLabelKeys' values from the pod added
    min_domains: int | None
    honor_affinity: bool  # nodeAffinityPolicy (default Honor)
    honor_taints: bool  # nodeTaintsPolicy (default Ignore)


def constraints_of(pod: Mapping[str, Any]) -> list[SpreadConstraint]:
    """The pod's topologySpreadConstraints; matchLabelKeys narrow the selector to the pod's own values."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    out = []
    for c in (pod.get("spec") or {}).get("topologySpreadConstraints") or []:
        selector = dict(c.get("labelSelector") or {})
        extra = {k: labels[k] for k in c.get("matchLabelKeys") or [] if k in labels}
        if extra:
            selector["matchLabels"] = {**(selector.get("matchLabels") or {}), **extra}
        out.append(SpreadConstraint(int(c.get("maxSkew", 1)), str(c["topologyKey"]), c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule",
                                    selector, c.get("minDomains"), c.get("nodeAffinityPolicy", "Honor") == "Honor",
                                    c.get("nodeTaintsPolicy", "Ignore") == "Honor"))
    return out


def _counts_node(c: SpreadConstraint, pod_spec: Mapping[str, Any], node: NodeInfo, keys: Sequence[str]) -> bool:
    if any(k not in node.labels for k in keys):
        return False
    if c.honor_affinity and not node_selector_matches(pod_spec, node.labels):
        return False
    tolerations = pod_spec.get("tolerations") or []
    return not (c.honor_taints and any(t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, t) for t in node.taints))


def domain_counts(c: SpreadConstraint, keys: Sequence[str], pod_spec: Mapping[str, Any], nodes: Mapping[str, NodeInfo],
                  placed: Iterable[tuple[str, Mapping[str, str]]]) -> dict[str, int]:
    """Matching pods per value of the constraint's topology key, over the nodes it counts (every
    such node's domain is present, with 0 when none of its pods match).  `placed`: (node name,
    labels) of the live pods of the pod's namespace."""
    counted = {name: info.labels[c.key] for name, info in nodes.items() if _counts_node(c, pod_spec, info, keys)}
    counts = dict.fromkeys(counted.values(), 0)
    for node, labels in placed:
        domain = counted.get(node)
        if domain is not None and selector_matches(c.selector, labels):
            counts[domain] += 1
    return counts


def global_min(counts: Mapping[str, int], min_domains: int | None) -> int:
    """The minimum matching pods over the domains; 0 while there are fewer domains than minDomains."""
    if not counts or (min_domains is not None and len(counts) < min_domains):
        return 0
    return min(counts.values())


@dataclass(frozen=True)
class Spread:
    """A pod's constraints with their domain counts, computed once per scheduling attempt."""

    constraints: tuple[tuple[SpreadConstraint, dict[str, int]], ...]
    pod_labels: Mapping[str, str]

    @classmethod
    def of(cls, pod: Mapping[str, Any], nodes: Mapping[str, NodeInfo], placed: Sequence[tuple[str, Mapping[str, str]]]) -> Spread | None:
        constraints = constraints_of(pod)
        if not constraints:
            return None
        keys = [c.key for c in constraints]
        spec = pod.get("spec") or {}
        return cls(tuple((c, domain_counts(c, keys, spec, nodes, placed)) for c in constraints), (pod.get("metadata") or {}).get("labels") or {})

    def filter_reason(self, node: NodeInfo) -> str | None:
        """Filter: None when the node keeps every DoNotSchedule constraint's skew within maxSkew."""
        for c, counts in self.constraints:
            if not c.hard:
                continue
            domain = node.labels.get(c.key)
            if domain is None:
                return NODE_LABEL_NOT_MATCH
            self_match = 1 if selector_matches(c.selector, self.pod_labels) else 0
            if counts.get(domain, 0) + self_match - global_min(counts, c.min_domains) > c.max_skew:
                return CONSTRAINTS_NOT_MATCH
        return None

    def penalties(self, nodes: Mapping[str, NodeInfo], candidates: Iterable[str]) -> dict[str, float]:
        """Score: 0..200 (the plugin's 100 at its default weight 2) to subtract per node, the most
        for the node whose domains hold the most matching pods under the ScheduleAnyway
        constraints, each weighted by log(domains + 2) as scoring.go does."""
        soft = [(c, counts) for c, counts in self.constraints if not c.hard]
        if not soft:
            return {}
        raw = {}
        for name in candidates:
            info = nodes.get(name)
            if info is not None:
                raw[name] = sum(counts.get(info.labels.get(c.key, ""), 0) * math.log(len(counts) + 2) for c, counts in soft)
        if not raw:
            return {}
        low, high = min(raw.values()), max(raw.values())
        return {name: 0.0 if high == low else 200.0 * (value - low) / (high - low) for name, value in raw.items()}
