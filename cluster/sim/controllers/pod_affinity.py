"""kube-scheduler's InterPodAffinity plugin, pure: required pod affinity and anti-affinity of the
incoming pod, the existing pods' required anti-affinity against it (the rule is symmetric), and
the preferred terms' score.

Source: kubernetes pkg/scheduler/framework/plugins/interpodaffinity (filtering.go:
satisfyPodAffinity, satisfyPodAntiAffinity, satisfyExistingPodsAntiAffinity and the first pod of a
set that has affinity to itself; scoring.go: preferred terms weighted, both ways).  A term's
namespaces are its `namespaces`, those its `namespaceSelector` selects (an empty selector: all),
or else its own pod's namespace; terminating pods do not count."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cluster.sim.controllers.scheduling import NodeInfo, selector_matches

AFFINITY_NOT_MATCH = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules"


# the namespaces' labels, asked for only when a term has a namespaceSelector
NamespaceLabels = Callable[[], Mapping[str, Mapping[str, str]]]


@dataclass(frozen=True)
class Term:
    key: str  # topologyKey
    selector: Mapping[str, Any]
    namespaces: frozenset[str] | None  # None: every namespace
    weight: int = 0  # preferred terms' weight

    def matches(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return (self.namespaces is None or namespace in self.namespaces) and selector_matches(self.selector, labels)


@dataclass(frozen=True)
class Placed:
    """A pod on a node, as affinity sees it."""

    node: str
    namespace: str
    labels: Mapping[str, str]
    spec: Mapping[str, Any]


def _terms(spec: Mapping[str, Any], kind: str, required: bool, own_ns: str, ns_labels: NamespaceLabels) -> list[Term]:
    section = ((spec.get("affinity") or {}).get(kind) or {})
    if required:
        items = [(t, 0) for t in section.get("requiredDuringSchedulingIgnoredDuringExecution") or []]
    else:
        items = [(p.get("podAffinityTerm") or {}, int(p.get("weight", 0))) for p in section.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
    out = []
    for t, weight in items:
        names: frozenset[str] | None = frozenset(t.get("namespaces") or ())
        if "namespaceSelector" in t:
            sel = t["namespaceSelector"] or {}
            names = None if not sel else names | {n for n, labels in ns_labels().items() if selector_matches(sel, labels)}  # type: ignore[operator]
        elif not names:
            names = frozenset({own_ns})
        out.append(Term(str(t.get("topologyKey", "")), t.get("labelSelector") or {}, names, weight))
    return out


@dataclass(frozen=True)
class Affinity:
    """The incoming pod's affinity state over the placed pods, computed once per scheduling attempt."""

    affinity: tuple[Term, ...]
    anti: tuple[Term, ...]
    affinity_counts: dict[tuple[str, str], int]
    anti_counts: dict[tuple[str, str], int]
    existing_anti: dict[tuple[str, str], int]
    matches_own_terms: bool
    scores: dict[tuple[str, str], int]

    @classmethod
    def of(cls, pod: Mapping[str, Any], nodes: Mapping[str, NodeInfo], placed: Iterable[Placed],
           ns_labels: NamespaceLabels | None = None) -> Affinity | None:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        ns, labels, ns_labels = str(meta.get("namespace", "default")), meta.get("labels") or {}, ns_labels or dict
        incoming = _Incoming(_terms(spec, "podAffinity", True, ns, ns_labels), _terms(spec, "podAntiAffinity", True, ns, ns_labels),
                             [(t, 1) for t in _terms(spec, "podAffinity", False, ns, ns_labels)]
                             + [(t, -1) for t in _terms(spec, "podAntiAffinity", False, ns, ns_labels)])
        existing_anti: dict[tuple[str, str], int] = {}
        scores: dict[tuple[str, str], int] = {}
        any_term = bool(incoming.affinity or incoming.anti or incoming.preferred)
        for p in placed:
            info = nodes.get(p.node)
            if info is None:
                continue
            incoming.count(p, info, scores)
            if p.spec.get("affinity"):
                any_term |= _toward_incoming(p, info, ns, labels, ns_labels, existing_anti, scores)
        if not any_term and not existing_anti:
            return None
        own = bool(incoming.affinity) and all(t.matches(ns, labels) for t in incoming.affinity)
        return cls(tuple(incoming.affinity), tuple(incoming.anti), incoming.affinity_counts, incoming.anti_counts, existing_anti, own, scores)

    def filter_reason(self, node: NodeInfo) -> str | None:
        """Filter: the incoming pod's required affinity and anti-affinity, then the existing pods' anti-affinity."""
        if not self._affinity_ok(node):
            return AFFINITY_NOT_MATCH
        for t in self.anti:
            value = node.labels.get(t.key)
            if value is not None and self.anti_counts.get((t.key, value), 0) > 0:
                return ANTI_AFFINITY_NOT_MATCH
        if any(self.existing_anti.get((k, v), 0) > 0 for k, v in node.labels.items()):
            return EXISTING_ANTI_AFFINITY_NOT_MATCH
        return None

    def _affinity_ok(self, node: NodeInfo) -> bool:
        exist = True
        for t in self.affinity:
            value = node.labels.get(t.key)
            if value is None:
                return False  # every topology key must be on the node
            if self.affinity_counts.get((t.key, value), 0) <= 0:
                exist = False
        # the first pod of a set with affinity to itself: no pod matches anywhere yet, and it matches its own terms
        return exist or (not self.affinity_counts and self.matches_own_terms)

    def penalties(self, nodes: Mapping[str, NodeInfo], candidates: Iterable[str]) -> dict[str, float]:
        """Score: 0..200 (the plugin's 100 at its default weight 2) to subtract per node, the most
        for the node the preferred terms like least."""
        if not self.scores:
            return {}
        raw = {name: sum(self.scores.get((k, v), 0) for k, v in info.labels.items()) for name in candidates if (info := nodes.get(name)) is not None}
        if not raw:
            return {}
        low, high = min(raw.values()), max(raw.values())
        return {name: 0.0 if high == low else 200.0 * (high - value) / (high - low) for name, value in raw.items()}


def _add(counts: dict[tuple[str, str], int], pair: tuple[str, str], n: int) -> None:
    counts[pair] = counts.get(pair, 0) + n


@dataclass
class _Incoming:
    """The incoming pod's terms and what they count over the placed pods."""

    affinity: list[Term]
    anti: list[Term]
    preferred: list[tuple[Term, int]]  # (term, +1 affinity / -1 anti-affinity)
    affinity_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    anti_counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def count(self, p: Placed, info: NodeInfo, scores: dict[tuple[str, str], int]) -> None:
        if self.affinity and all(t.matches(p.namespace, p.labels) for t in self.affinity):
            for t in self.affinity:
                if t.key in info.labels:
                    _add(self.affinity_counts, (t.key, info.labels[t.key]), 1)
        for t in self.anti:
            if t.key in info.labels and t.matches(p.namespace, p.labels):
                _add(self.anti_counts, (t.key, info.labels[t.key]), 1)
        for t, sign in self.preferred:
            if t.key in info.labels and t.matches(p.namespace, p.labels):
                _add(scores, (t.key, info.labels[t.key]), sign * t.weight)


def _toward_incoming(p: Placed, info: NodeInfo, ns: str, labels: Mapping[str, str], ns_labels: NamespaceLabels,
                     existing_anti: dict[tuple[str, str], int], scores: dict[tuple[str, str], int]) -> bool:
    """An existing pod's own terms toward the incoming pod: its required anti-affinity filters,
    its preferred terms score.  Whether a preferred term applied."""
    for t in _terms(p.spec, "podAntiAffinity", True, p.namespace, ns_labels):
        if t.key in info.labels and t.matches(ns, labels):
            _add(existing_anti, (t.key, info.labels[t.key]), 1)
    applied = False
    for kind, sign in (("podAffinity", 1), ("podAntiAffinity", -1)):
        for t in _terms(p.spec, kind, False, p.namespace, ns_labels):
            if t.key in info.labels and t.matches(ns, labels):
                _add(scores, (t.key, info.labels[t.key]), sign * t.weight)
                applied = True
    return applied
