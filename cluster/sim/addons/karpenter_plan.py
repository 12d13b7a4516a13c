"""Karpenter's decisions, as its sources make them (pure).

- Interruption messages: the EventBridge envelope dispatched on (version, source, detail-type),
  each kind's action, and the events it publishes (karpenter-provider-aws
  pkg/controllers/interruption/parser.go, messages/*, utils.go actionForMessage / notifyForMessage).
- Which NodePool and which instance types can hold a pending pod, and how pods are packed into
  NodeClaims: a NodeClaim keeps the instance types that still fit every pod added to it
  (kubernetes-sigs/karpenter pkg/controllers/provisioning/scheduling).
- Instance-type labels (karpenter-provider-aws pkg/apis/v1/labels.go) and NodePool requirements.
- Disruption budgets: allowed = roundup(total * pct) - deleting - notready, the minimum across
  budgets, reasons filtering (kubernetes-sigs/karpenter pkg/apis/v1/nodepool.go).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cluster.instance_types import INSTANCE_TYPES, allocatable
from cluster.quantities import millicores
from cluster.sim.controllers.scheduling import selector_matches
from cluster.sim.controllers.topology_spread import constraints_of

UNAVAILABLE_OFFERING_TTL = 180.0  # KPA pkg/cache/cache.go UnavailableOfferingsTTL = 3m
MAX_INSTANCE_TYPES = 60  # KPA instance.go maxInstanceTypes sent to CreateFleet
DISRUPTED_TAINT = {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"}  # KC pkg/apis/v1/taints.go
UNREGISTERED_TAINT = {"key": "karpenter.sh/unregistered", "effect": "NoExecute"}
TERMINATION_FINALIZER = "karpenter.sh/termination"
EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
CAPACITY_TYPE = "karpenter.sh/capacity-type"
NODEPOOL = "karpenter.sh/nodepool"
NODECLASS = "karpenter.k8s.aws/ec2nodeclass"
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"


# ---- interruption messages ---------------------------------------------------------------------
class Kind(StrEnum):
    SPOT_INTERRUPTED = "spot_interrupted"
    REBALANCE = "rebalance_recommendation"
    SCHEDULED_CHANGE = "scheduled_change"
    STOPPED = "instance_stopped"
    TERMINATED = "instance_terminated"
    CAPACITY_RESERVATION = "capacity_reservation_interrupted"
    NO_OP = "no_op"


@dataclass(frozen=True)
class Message:
    kind: Kind
    instance_ids: tuple[str, ...] = ()
    time: str | None = None  # the EventBridge event's time


# (reason, type, message) published on the NodeClaim and the Node (KPA pkg/controllers/interruption/events)
EVENTS = {
    Kind.SPOT_INTERRUPTED: ("SpotInterrupted", "Warning", "Spot interruption warning was triggered"),
    Kind.REBALANCE: ("SpotRebalanceRecommendation", "Normal", "Spot rebalance recommendation was triggered"),
    Kind.SCHEDULED_CHANGE: ("InstanceUnhealthy", "Warning", "An unhealthy warning was triggered for the instance"),
    Kind.STOPPED: ("InstanceStopping", "Warning", "Instance is stopping"),
    Kind.TERMINATED: ("InstanceTerminating", "Warning", "Instance is terminating"),
    Kind.CAPACITY_RESERVATION: ("CapacityReservationInstanceInterrupted", "Warning", "Capacity reservation instance interruption warning was triggered"),
}


def parse_message(body: str) -> Message:
    """One SQS message body; ValueError when it is not JSON (Karpenter logs it and deletes it)."""
    if not body.strip():
        return Message(Kind.NO_OP)
    try:
        event = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"failed parsing interruption message: {exc}") from None
    if not isinstance(event, dict) or event.get("version") != "0":
        return Message(Kind.NO_OP)
    source, detail_type = event.get("source"), event.get("detail-type")
    detail = event.get("detail") or {}
    time = event.get("time")
    one = (str(detail.get("instance-id", "")),) if detail.get("instance-id") else ()
    if source == "aws.ec2":
        if detail_type == "EC2 Spot Instance Interruption Warning":
            return Message(Kind.SPOT_INTERRUPTED, one, time)
        if detail_type == "EC2 Instance Rebalance Recommendation":
            return Message(Kind.REBALANCE, one, time)
        if detail_type == "EC2 Capacity Reservation Instance Interruption Warning":
            return Message(Kind.CAPACITY_RESERVATION, one, time)
        if detail_type == "EC2 Instance State-change Notification":
            state = detail.get("state")
            if state in ("stopping", "stopped"):
                return Message(Kind.STOPPED, one, time)
            if state in ("shutting-down", "terminated"):
                return Message(Kind.TERMINATED, one, time)
            return Message(Kind.NO_OP)
    if source == "aws.health" and detail_type == "AWS Health Event":
        if detail.get("service") == "EC2" and detail.get("eventTypeCategory") == "scheduledChange":
            ids = tuple(str(e.get("entityValue")) for e in detail.get("affectedEntities") or [] if e.get("entityValue"))
            return Message(Kind.SCHEDULED_CHANGE, ids, time)
    return Message(Kind.NO_OP)


def deletes_node_claim(kind: Kind) -> bool:
    """actionForMessage: CordonAndDrain (delete the NodeClaim) for every kind but the rebalance
    recommendation, which Karpenter only records ("NoAction")."""
    return kind not in (Kind.REBALANCE, Kind.NO_OP)


# ---- instance types and requirements ----------------------------------------------------------
_NAME = re.compile(r"^(?P<family>(?P<category>[a-z]+)(?P<generation>\d+)[a-z]*)\.(?P<size>\w+)$")


def type_labels(name: str) -> dict[str, str]:
    """The labels a node of this type carries (KC well-known + KPA karpenter.k8s.aws/instance-*)."""
    itype = INSTANCE_TYPES[name]
    m = _NAME.match(name)
    labels = {INSTANCE_TYPE: name, "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
              "karpenter.k8s.aws/instance-cpu": str(itype.vcpus), "karpenter.k8s.aws/instance-memory": str(itype.memory_mib)}
    if m:
        labels |= {"karpenter.k8s.aws/instance-category": m["category"], "karpenter.k8s.aws/instance-family": m["family"],
                   "karpenter.k8s.aws/instance-generation": m["generation"], "karpenter.k8s.aws/instance-size": m["size"]}
    return labels


def requirement_allows(req: Mapping[str, Any], value: str | None) -> bool:
    """A NodeSelectorRequirement against one label value (None: the label is absent)."""
    op, values = req.get("operator", "In"), [str(v) for v in req.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            a, b = int(value), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def _requirements(reqs: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for r in reqs:
        if r.get("key"):
            out.setdefault(str(r["key"]), []).append(r)
    return out


@dataclass(frozen=True)
class PoolShape:
    """What a NodePool can launch: its instance types, zones and capacity types, and the labels
    and taints its nodes carry."""

    name: str
    node_class: str
    weight: int
    types: tuple[str, ...]
    zones: tuple[str, ...]
    capacity_types: tuple[str, ...]  # in Karpenter's priority: spot before on-demand
    labels: dict[str, str]  # template labels + single-valued In requirements + karpenter.sh/nodepool
    label_values: dict[str, tuple[str, ...]]  # every key a node of the pool may carry -> its allowed values (None-free)
    taints: tuple[dict[str, Any], ...]
    startup_taints: tuple[dict[str, Any], ...]
    cpu_limit: int | None  # millicores; None: no limit
    termination_grace: float | None
    consolidation: str
    consolidate_after: float | None  # None: Never
    budgets: tuple[dict[str, Any], ...]


def parse_duration(text: str | None) -> float | None:
    """Karpenter's durations ("30s", "1h30m", "Never"); None for Never or absent."""
    if text is None or text == "Never":
        return None
    total, found = 0.0, False
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text)):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        found = True
    if not found:
        raise ValueError(f"'{text}' is not a duration (for example 30s, 5m, 1h)")
    return total


def pool_shape(pool: Mapping[str, Any], zones: Sequence[str]) -> PoolShape:
    """What a NodePool can launch, from its requirements, template, limits and disruption settings."""
    spec = pool.get("spec") or {}
    template = spec.get("template") or {}
    tspec = template.get("spec") or {}
    reqs = _requirements(r for r in tspec.get("requirements") or [] if isinstance(r, dict))
    name = str((pool.get("metadata") or {}).get("name", ""))
    labels, label_values = _pool_labels(name, template, reqs)
    limits = spec.get("limits") or {}
    disruption = spec.get("disruption") or {}
    tgp = tspec.get("terminationGracePeriod")
    return PoolShape(
        name=name, node_class=str((tspec.get("nodeClassRef") or {}).get("name", "default")), weight=int(spec.get("weight") or 0),
        types=_pool_types(reqs), zones=tuple(z for z in zones if all(requirement_allows(r, z) for r in reqs.get(ZONE, []))),
        capacity_types=_pool_capacity_types(reqs), labels=labels, label_values=label_values,
        taints=tuple(tspec.get("taints") or ()), startup_taints=tuple(tspec.get("startupTaints") or ()),
        cpu_limit=millicores(limits["cpu"]) if limits.get("cpu") is not None else None,
        termination_grace=parse_duration(tgp) if tgp else None,
        consolidation=str(disruption.get("consolidationPolicy") or "WhenEmptyOrUnderutilized"),
        consolidate_after=parse_duration(str(disruption.get("consolidateAfter") or "0s")),
        budgets=tuple(disruption.get("budgets") or ({"nodes": "10%"},)),
    )


def _pool_types(reqs: dict[str, list[Mapping[str, Any]]]) -> tuple[str, ...]:
    """The instance types every requirement on an instance label allows."""
    def allowed(t: str) -> bool:
        labels = type_labels(t)
        return all(requirement_allows(r, labels.get(k)) for k, rs in reqs.items() if k in labels or k.startswith("karpenter.k8s.aws/instance-") for r in rs)
    return tuple(t for t in INSTANCE_TYPES if allowed(t))


def _pool_capacity_types(reqs: dict[str, list[Mapping[str, Any]]]) -> tuple[str, ...]:
    """Spot before on-demand, as allowed; a NodePool that does not name capacity types launches
    on-demand (KC default requirement)."""
    if CAPACITY_TYPE not in reqs:
        return ("on-demand",)
    return tuple(c for c in ("spot", "on-demand") if all(requirement_allows(r, c) for r in reqs[CAPACITY_TYPE]))


def _pool_labels(name: str, template: Mapping[str, Any], reqs: dict[str, list[Mapping[str, Any]]]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """(labels every node carries, every label a node may carry -> its allowed values): the
    template's labels, the In requirements on other keys (single-valued ones become labels) and
    karpenter.sh/nodepool."""
    labels = {str(k): str(v) for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()}
    label_values: dict[str, tuple[str, ...]] = {k: (v,) for k, v in labels.items()}
    for key, rs in reqs.items():
        ins = [r for r in rs if r.get("operator", "In") == "In"]
        if ins and key not in (INSTANCE_TYPE, ZONE, CAPACITY_TYPE) and not key.startswith("karpenter.k8s.aws/instance-"):
            values = tuple(str(v) for v in ins[0].get("values") or [])
            label_values[key] = values
            if len(values) == 1:
                labels[key] = values[0]
    labels[NODEPOOL] = name
    label_values[NODEPOOL] = (name,)
    return labels, label_values


@dataclass(frozen=True)
class PodNeeds:
    """A pending pod as the provisioner sees it."""

    key: str
    cpu: int  # millicores
    mem: int  # bytes
    selector: dict[str, str]
    terms: tuple[tuple[Mapping[str, Any], ...], ...]  # required node-affinity terms (any one)
    tolerations: tuple[Mapping[str, Any], ...]
    spread: tuple[SpreadNeed, ...] = ()


@dataclass(frozen=True)
class SpreadNeed:
    """A topology spread constraint the provisioner plans for (KC pkg/controllers/provisioning/
    scheduling/topology.go): zone spread picks each new pod's zone, the one with the fewest pods
    of its group; hostname spread puts pods of one group on separate new nodes."""

    key: str  # ZONE or HOSTNAME
    group: str  # the pods counted together: the namespace and the constraint's selector
    namespace: str
    selector: Mapping[str, Any]


def spread_needs(pod: Mapping[str, Any], respect_preferences: bool) -> tuple[SpreadNeed, ...]:
    """The pod's zone and hostname spread constraints: DoNotSchedule ones always; ScheduleAnyway
    ones too under PREFERENCE_POLICY=Respect, Karpenter's default, which plans for preferences
    first and relaxes them only when nothing fits."""
    ns = str(pod["metadata"].get("namespace", "default"))
    out = []
    for c in constraints_of(pod):
        if c.key in (ZONE, HOSTNAME) and (c.hard or respect_preferences):
            out.append(SpreadNeed(c.key, f"{ns}/{json.dumps(c.selector, sort_keys=True)}", ns, c.selector))
    return tuple(out)


def held_in_place(pod: Mapping[str, Any]) -> bool:
    """A pod whose placement a hard constraint decides: a DoNotSchedule topology spread or a
    required pod anti-affinity."""
    if any(c.hard for c in constraints_of(pod)):
        return True
    anti = ((pod.get("spec") or {}).get("affinity") or {}).get("podAntiAffinity") or {}
    return bool(anti.get("requiredDuringSchedulingIgnoredDuringExecution"))


def zone_counts(needs: Iterable[PodNeeds], pods: Iterable[Mapping[str, Any]], node_zones: Mapping[str, str],
                waiting_zones: Mapping[str, str] | None = None) -> dict[str, dict[str, int]]:
    """For each zone-spread group of the pending pods, its pods per zone: bound ones by their
    node's zone (nodes leaving are not in `node_zones`, so their pods do not count), and pods
    nominated to a claim coming up by its zone (`waiting_zones`: namespace/name -> zone)."""
    groups = {s.group: s for n in needs for s in n.spread if s.key == ZONE}
    counts: dict[str, dict[str, int]] = {g: {} for g in groups}
    if not groups:
        return counts
    for pod in pods:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        zone = node_zones.get(str(spec.get("nodeName") or "")) or (waiting_zones or {}).get(f"{meta.get('namespace')}/{meta.get('name')}")
        if zone is None or meta.get("deletionTimestamp"):
            continue
        for g, s in groups.items():
            if meta.get("namespace") == s.namespace and selector_matches(s.selector, meta.get("labels") or {}):
                counts[g][zone] = counts[g].get(zone, 0) + 1
    return counts


def _tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
            return True
        if t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
            return True
    return False


@dataclass(frozen=True)
class Fit:
    """Where a pod can go in a pool: the types, zones and capacity types that satisfy it."""

    types: tuple[str, ...]
    zones: tuple[str, ...]
    capacity_types: tuple[str, ...]


WELL_KNOWN_ANY = ("kubernetes.io/arch", "kubernetes.io/os", "topology.kubernetes.io/region", "kubernetes.io/hostname")


def _fit_term(pool: PoolShape, reqs: Sequence[Mapping[str, Any]]) -> Fit | None:
    types, zones, cts = list(pool.types), list(pool.zones), list(pool.capacity_types)
    for r in reqs:
        key = str(r.get("key", ""))
        if key == ZONE:
            zones = [z for z in zones if requirement_allows(r, z)]
        elif key == CAPACITY_TYPE:
            cts = [c for c in cts if requirement_allows(r, c)]
        elif key == INSTANCE_TYPE or key.startswith("karpenter.k8s.aws/instance-"):
            types = [t for t in types if requirement_allows(r, type_labels(t).get(key))]
        elif key in pool.label_values:
            if not any(requirement_allows(r, v) for v in pool.label_values[key]):
                return None
        elif key in WELL_KNOWN_ANY:
            continue
        elif not requirement_allows(r, None):  # a label no node of the pool carries
            return None
    return Fit(tuple(types), tuple(zones), tuple(cts)) if types and zones and cts else None


def fit(pool: PoolShape, pod: PodNeeds) -> Fit | None:
    """Whether the pool can hold the pod, and where; None when it cannot."""
    if not all(_tolerates(pod.tolerations, t) for t in pool.taints if t.get("effect") in ("NoSchedule", "NoExecute")):
        return None
    base = [{"key": k, "operator": "In", "values": [v]} for k, v in pod.selector.items()]
    for term in pod.terms or ((),):
        found = _fit_term(pool, [*base, *term])
        if found is not None:
            return found
    return None


@dataclass
class ClaimPlan:
    """A NodeClaim to create: its pool, the pods packed into it and where it may launch."""

    pool: str
    pods: list[str] = field(default_factory=list)
    cpu: int = 0
    mem: int = 0
    types: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    capacity_types: tuple[str, ...] = ()
    groups: list[str] = field(default_factory=list)  # the hostname-spread groups of its pods: one pod of each per new node


def room(name: str, overhead: tuple[int, int]) -> tuple[int, int]:
    cpu, mem = allocatable(INSTANCE_TYPES[name])
    return cpu - overhead[0], mem - overhead[1]


def _holds(name: str, overhead: tuple[int, int], cpu: int, mem: int) -> bool:
    free_cpu, free_mem = room(name, overhead)
    return free_cpu >= cpu and free_mem >= mem


def pack(pool: PoolShape, pods: Sequence[tuple[PodNeeds, Fit]], overhead: tuple[int, int]) -> list[ClaimPlan]:
    """First-fit-decreasing into new NodeClaims: each pod joins the first claim that still has a
    type fitting it with the pods already there, else starts a new one; each claim keeps the
    types, zones and capacity types every pod in it allows."""
    claims: list[ClaimPlan] = []
    for pod, where in sorted(pods, key=lambda p: (-p[0].cpu, -p[0].mem, p[0].key)):
        apart = [s.group for s in pod.spread if s.key == HOSTNAME]
        for c in claims:
            if any(g in c.groups for g in apart):
                continue
            types = tuple(t for t in c.types if t in where.types and _holds(t, overhead, c.cpu + pod.cpu, c.mem + pod.mem))
            zones = tuple(z for z in c.zones if z in where.zones)
            cts = tuple(x for x in c.capacity_types if x in where.capacity_types)
            if types and zones and cts:
                c.pods.append(pod.key)
                c.groups += apart
                c.cpu, c.mem, c.types, c.zones, c.capacity_types = c.cpu + pod.cpu, c.mem + pod.mem, types, zones, cts
                break
        else:
            types = tuple(t for t in where.types if _holds(t, overhead, pod.cpu, pod.mem))
            if types:
                claims.append(ClaimPlan(pool.name, [pod.key], pod.cpu, pod.mem, types, where.zones, where.capacity_types, list(apart)))
    for c in claims:
        c.types = tuple(sorted(c.types, key=price_rank)[:MAX_INSTANCE_TYPES])
    return claims


def owned_by_daemonset(pod: Mapping[str, Any]) -> bool:
    return any(o.get("kind") == "DaemonSet" for o in pod["metadata"].get("ownerReferences") or [])


def pods_wanting(pods: Iterable[Mapping[str, Any]], leaving: set[str]) -> dict[str, Mapping[str, Any]]:
    """The pods the provisioner launches for, by namespace/name: pending ones the scheduler found no
    room for, and those on a node being deleted (their replacement is launched alongside the drain,
    KC pkg/controllers/provisioning/provisioner.go GetPendingPods and the deleting nodes' pods).
    DaemonSet pods and finished pods never count."""
    wanting: dict[str, Mapping[str, Any]] = {}
    for pod in pods:
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        if owned_by_daemonset(pod) or status.get("phase") in ("Succeeded", "Failed") or meta.get("deletionTimestamp"):
            continue
        key = f"{meta['namespace']}/{meta['name']}"
        if not spec.get("nodeName") and any(c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable" for c in status.get("conditions") or []):
            wanting[key] = pod
        elif spec.get("nodeName") in leaving:
            wanting[key] = pod
    return wanting


def batch_closed(pending_since: Sequence[float], now: float, idle: float, longest: float) -> bool:
    """Whether the batch of pending pods is ready to provision: no new pod for `idle` seconds, or
    the first has waited `longest` (KC --batch-idle-duration, --batch-max-duration)."""
    return now - max(pending_since) >= idle or now - min(pending_since) >= longest


@dataclass
class ComingClaim:
    """A NodeClaim launched and not yet Ready: its pool and the room left on it (after what is nominated)."""

    name: str
    pool: str
    cpu: int
    mem: int
    zone: str = ""  # where it launched ("" before that is known)
    groups: list[str] = field(default_factory=list)  # the spread groups of the pods nominated to it


@dataclass
class Assignment:
    nominated: dict[str, str] = field(default_factory=dict)  # pod -> a coming claim it fits on
    by_pool: dict[str, list[tuple[PodNeeds, Fit]]] = field(default_factory=dict)  # pods for new claims, per pool
    unplaced: list[str] = field(default_factory=list)  # pods no NodePool fits


def assign(pods: Sequence[tuple[str, PodNeeds]], coming: Sequence[ComingClaim], pools: Sequence[PoolShape],
           counts: dict[str, dict[str, int]] | None = None) -> Assignment:
    """Each pod onto the room of a claim already coming up (of a pool it fits), else to the first
    pool (by weight) it fits, to be packed into new claims, in the zone its spread wants (`counts`:
    zone_counts, updated as pods are placed); `coming` is consumed as pods take room."""
    counts = {} if counts is None else counts
    out = Assignment()
    shapes = {s.name: s for s in pools}
    for key, needs in pods:
        claim = next((c for c in coming if c.pool in shapes and fit(shapes[c.pool], needs) is not None and c.cpu >= needs.cpu and c.mem >= needs.mem
                      and _spread_allows(c, shapes[c.pool].zones, needs, counts)), None)
        if claim is not None:
            claim.cpu -= needs.cpu
            claim.mem -= needs.mem
            claim.groups += [s.group for s in needs.spread]
            for s in needs.spread:
                if s.key == ZONE and claim.zone:
                    counts.setdefault(s.group, {})[claim.zone] = counts.get(s.group, {}).get(claim.zone, 0) + 1
            out.nominated[key] = claim.name
            continue
        for shape in pools:
            where = fit(shape, needs)
            if where is not None:
                out.by_pool.setdefault(shape.name, []).append((needs, _spread_zone(where, needs, counts)))
                break
        else:
            out.unplaced.append(key)
    return out


def _spread_allows(claim: ComingClaim, zones: Sequence[str], needs: PodNeeds, counts: dict[str, dict[str, int]]) -> bool:
    """Whether a pod with spread constraints may wait for a claim coming up: not beside a pod of
    its hostname-spread group, and only in the zone its zone spread would pick."""
    for s in needs.spread:
        if s.key == HOSTNAME and s.group in claim.groups:
            return False
        if s.key == ZONE:
            per_zone = counts.get(s.group, {})
            if not claim.zone or per_zone.get(claim.zone, 0) > min((per_zone.get(z, 0) for z in zones), default=0):
                return False
    return True


def _spread_zone(where: Fit, needs: PodNeeds, counts: dict[str, dict[str, int]]) -> Fit:
    """The pod's zone narrowed to the one its zone spread wants: the fewest pods of its group."""
    for s in needs.spread:
        if s.key != ZONE or not where.zones:
            continue
        per_zone = counts.setdefault(s.group, {})
        zone = min(where.zones, key=lambda z: (per_zone.get(z, 0), z))
        per_zone[zone] = per_zone.get(zone, 0) + 1
        where = Fit(where.types, (zone,), where.capacity_types)
    return where


def price_rank(name: str) -> tuple[int, int, str]:
    """Cheaper first: the simulator has no price list, so size stands for price (vCPUs, memory)."""
    t = INSTANCE_TYPES[name]
    return t.vcpus, t.memory_mib, name


# ---- disruption budgets ------------------------------------------------------------------------
def allowed_disruptions(budgets: Iterable[Mapping[str, Any]], total: int, deleting: int, not_ready: int, reason: str) -> int:
    """How many of the pool's nodes may be voluntarily disrupted now for `reason` (Empty,
    Underutilized, Drifted): per budget roundup(total * pct) or the count, minus the nodes being
    deleted or not Ready; the minimum over the budgets that apply.  Budgets with a schedule are
    taken as active (the simulator does not evaluate their cron)."""
    allowed = total
    for b in budgets:
        reasons = b.get("reasons")
        if reasons and reason not in reasons:
            continue
        nodes = str(b.get("nodes", "10%"))
        n = math.ceil(total * int(nodes[:-1]) / 100) if nodes.endswith("%") else int(nodes)
        allowed = min(allowed, n)
    return max(0, allowed - deleting - not_ready)
