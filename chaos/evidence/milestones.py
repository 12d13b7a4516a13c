"""What happened to each interrupted node, read from the journal: notice, taint, cordon, first
eviction, drained, target draining, targets gone, reclaimed, replacement requested and Ready,
serving replicas restored.  Pure: records in, milestones out (times in cluster seconds)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.journal import Record, of
from chaos.journal.records import (
    DeploymentRecord,
    FisActionRecord,
    InjectedRecord,
    InstanceRecord,
    NodeClaimRecord,
    NodeRecord,
    PodRecord,
    TargetRecord,
)

GONE_STATES = ("shutting-down", "terminated", "stopping", "stopped")
MILESTONES = ("notice", "taint", "cordon", "first_eviction", "drained", "target_draining", "targets_out", "targets_gone",
              "reclaimed", "replacement_requested", "replacement_ready", "replicas_restored")


@dataclass
class NodeMilestones:
    instance: str
    node: str | None
    injection: str
    via: str
    action: str
    notice: float
    expected_reclaim: float | None = None
    reclaims: bool = True  # the injection takes the instance at the notice's end (its injector says so in the record)
    warned: bool = True  # the node got a notice (False: lost without one, the "notice" is the loss)
    taint: float | None = None
    cordon: float | None = None
    cordon_seen: float | None = None  # when the harness's watch delivered the cordon (later than `cordon` when it lagged)
    first_eviction: float | None = None
    drained: float | None = None
    target_draining: float | None = None
    targets_gone: float | None = None
    targets_out: float | None = None  # every target healthy at the notice has left `healthy`
    reclaimed: float | None = None
    group: str | None = None  # the Auto Scaling group the interrupted instance belonged to
    replacement_instance: str | None = None
    replacement_group: str | None = None
    replacement_requested: float | None = None  # launched: its NodeClaim created (Karpenter), or the instance first seen
    replacement_nodeclaim: str | None = None  # the replacement's NodeClaim, when Karpenter launched it
    replacement_ready: float | None = None
    replicas_restored: float | None = None
    pods_at_notice: int = 0
    targets_at_notice: list[str] = field(default_factory=list)
    healthy_at_notice: list[str] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)  # the termination handlers that tainted the node after the notice, in order

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def since_notice(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else round(value - self.notice, 3)


def injected(records: Iterable[Record]) -> list[InjectedRecord]:
    """The nodes injections took (a capacity error's record names no instance)."""
    return [r for r in of(records, InjectedRecord) if r.instance]


def _notice(r: InjectedRecord, fis_started: dict[str, float]) -> tuple[float, float | None]:
    """(notice, expected reclaim): FIS acts (sends the notice, stops or terminates) when its
    experiment's actions start, not when the harness asked for the experiment."""
    started = fis_started.get(r.fis_experiment or "")
    if started is None or started < r.t:
        return r.t, r.reclaim_t
    shift = started - r.t
    return started, (r.reclaim_t + shift if r.reclaim_t is not None else None)


FOLLOWED = ("taint", "cordon", "cordon_seen", "first_eviction", "drained", "target_draining", "targets_gone", "targets_out", "reclaimed",
            "pods_at_notice", "targets_at_notice", "healthy_at_notice", "handlers")  # what _follow sets, from the node's own records


class MilestoneFold:
    """The records node milestones read, indexed as they arrive (a journal listener), so the
    milestones of the interrupted nodes cost what those nodes' own records cost, not a rescan of
    the whole journal: node and pod records by node, each pod's and each target's records, the
    instances' records, and per instance when its Node was first seen and first Ready."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # records arrive from the observers' threads; the run reads on its own
        self._seq = 0
        self.injected: list[InjectedRecord] = []
        self.fis_started: dict[str, float] = {}
        self.by_node: dict[str, list[tuple[float, int, Record]]] = {}  # node and pod records, by node name
        self.by_pod: dict[str, list[tuple[float, int, Record]]] = {}
        self.by_target: dict[str, list[tuple[float, int, Record]]] = {}
        self.by_instance: dict[str, list[tuple[float, int, Record]]] = {}
        self.instances: list[tuple[float, int, InstanceRecord]] = []
        self.node_first: dict[str, float] = {}  # instance -> its Node's first record
        self.node_ready: dict[str, float] = {}  # instance -> its Node's first Ready record
        self.deployments: list[tuple[float, int, DeploymentRecord]] = []
        self.claim_first: dict[str, float] = {}  # NodeClaim -> its first record (created, before its instance)
        self.claim_of: dict[str, str] = {}  # instance -> the NodeClaim it was launched for
        # which nodes a record can concern, so a node whose records did not change keeps its milestones
        self._pod_nodes: dict[str, set[str]] = {}
        self._ip_nodes: dict[str, set[str]] = {}
        self._instance_node: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._followed: dict[tuple[str | None, str, float], dict[str, Any]] = {}

    @classmethod
    def of(cls, records: Iterable[Record]) -> MilestoneFold:
        fold = cls()
        for r in records:
            fold.add(r)
        return fold

    def add(self, r: Record) -> None:
        with self._lock:
            self._add(r)

    def _add(self, r: Record) -> None:
        t = r.t
        self._seq += 1
        if isinstance(r, PodRecord):
            self.by_pod.setdefault(r.pod, []).append((t, self._seq, r))
            on = self._pod_nodes.setdefault(r.pod, set())
            if r.node:
                self.by_node.setdefault(r.node, []).append((t, self._seq, r))
                on.add(r.node)
                if r.ip:
                    self._ip_nodes.setdefault(r.ip, set()).add(r.node)
            self._dirty |= on
        elif isinstance(r, NodeRecord):
            if r.node:
                self.by_node.setdefault(r.node, []).append((t, self._seq, r))
                self._dirty.add(r.node)
            iid = r.instance
            if iid:
                if r.node:
                    self._instance_node[iid] = r.node
                self.node_first[iid] = min(t, self.node_first.get(iid, t))
                if r.ready:
                    self.node_ready[iid] = min(t, self.node_ready.get(iid, t))
        elif isinstance(r, TargetRecord):
            self.by_target.setdefault(r.target, []).append((t, self._seq, r))
            self._dirty |= self._ip_nodes.get(r.target, set())
            if r.target in self._instance_node:
                self._dirty.add(self._instance_node[r.target])
        elif isinstance(r, InstanceRecord):
            self.by_instance.setdefault(r.instance, []).append((t, self._seq, r))
            self.instances.append((t, self._seq, r))
            if r.instance in self._instance_node:
                self._dirty.add(self._instance_node[r.instance])
        elif isinstance(r, DeploymentRecord):
            self.deployments.append((t, self._seq, r))
        elif isinstance(r, NodeClaimRecord):
            self.claim_first.setdefault(r.nodeclaim, t)
            if r.instance:
                self.claim_of[r.instance] = r.nodeclaim
        elif isinstance(r, InjectedRecord) and r.instance:
            self.injected.append(r)
            if r.node:
                self._instance_node.setdefault(r.instance, r.node)
        elif isinstance(r, FisActionRecord):
            self.fis_started[r.experiment] = min(r.started_t, self.fis_started.get(r.experiment, r.started_t))

    def node_records(self, m: NodeMilestones) -> list[Record]:
        """Every record that can move the node's milestones, in journal order: its node and pod
        records, the other records of pods once on it, its targets' (instance and pod IPs) and its instance's."""
        entries = list(self.by_node.get(m.node or "", []))
        on_node = [e[2] for e in entries if isinstance(e[2], PodRecord)]
        pods = {r.pod for r in on_node}
        targets = {m.instance} | {r.ip for r in on_node if r.ip}
        seen = {e[1] for e in entries}
        for pod in pods:
            entries += [e for e in self.by_pod.get(pod, []) if e[1] not in seen]
        for tid in targets:
            entries += self.by_target.get(tid, [])
        entries += self.by_instance.get(m.instance, [])
        return [e[2] for e in sorted(entries, key=lambda e: (e[0], e[1]))]

    def latest_deployment(self) -> DeploymentRecord | None:
        """The serving Deployment's latest record (its Ready and desired replicas now)."""
        with self._lock:
            return self.deployments[-1][2] if self.deployments else None

    def reclaimed_since(self, instance: str, t: float) -> bool:
        with self._lock:
            return any(e[0] >= t and isinstance(e[2], InstanceRecord) and e[2].state in GONE_STATES for e in self.by_instance.get(instance, []))

    def milestones(self) -> list[NodeMilestones]:
        with self._lock:
            return self._milestones()

    def _milestones(self) -> list[NodeMilestones]:
        result = []
        for r in sorted(self.injected, key=lambda r: r.t):
            notice, reclaim = _notice(r, self.fis_started)
            action = r.action or "spot-interruption"
            result.append(NodeMilestones(instance=r.instance or "", node=r.node, injection=r.injection or "", via=r.via or "",
                                         action=action, notice=notice, expected_reclaim=reclaim,
                                         # journals from before `reclaims` was recorded: Spot interruptions were the ones reclaimed
                                         reclaims=r.reclaims if r.reclaims is not None else action == "spot-interruption",
                                         warned=r.warned))
        for m in result:
            key = (m.node, m.instance, m.notice)
            cached = self._followed.get(key)
            if cached is not None and m.node and m.node not in self._dirty:
                for name, value in cached.items():
                    setattr(m, name, list(value) if isinstance(value, list) else value)
                continue
            _follow(m, self.node_records(m))
            self._followed[key] = {name: getattr(m, name) for name in FOLLOWED}
        self._dirty.clear()
        _replacements(result, self)
        _replicas(result, [e[2] for e in sorted(self.deployments, key=lambda e: (e[0], e[1]))])
        return result


def node_milestones(records: list[Record]) -> list[NodeMilestones]:
    return MilestoneFold.of(records).milestones()


IP_RACE_S = 30.0  # cluster seconds a target record may precede the pod record naming its IP


def _dated(seen: float, written_by: float | None, notice: float) -> float:
    """When a node change happened: when the watch delivered it, or earlier when the API server's
    own stamp (its managedFields second, plus one) says it was written by then.  A harness that
    lagged sees a cordon late; the cluster's stamp keeps the figure within a second."""
    if written_by is None or written_by >= seen:
        return seen
    return max(notice, written_by)


def _follow(m: NodeMilestones, ordered: list[Record]) -> None:
    """The node's own milestones, from its records in journal order."""
    follow = _NodeFollow(m, ordered)
    for r in ordered:
        after = r.t >= m.notice
        if isinstance(r, NodeRecord) and r.node == m.node:
            follow.node(r, after)
        elif isinstance(r, PodRecord):
            follow.pod(r, after)
        elif isinstance(r, TargetRecord) and follow.is_target(r):
            follow.target(r, after)
        elif isinstance(r, InstanceRecord) and r.instance == m.instance and after and m.reclaimed is None and r.state in GONE_STATES:
            m.reclaimed = r.t
        if not after:
            follow.at_notice()
    follow.finish()


class _NodeFollow:
    """What following one node's records keeps: its live pods, its targets' last states, when each
    target left `healthy` and when each was gone."""

    def __init__(self, m: NodeMilestones, ordered: list[Record]) -> None:
        self.m = m
        self.live: dict[str, PodRecord] = {}  # pods on the node, not deleted
        self.targets: dict[str, str] = {}  # target id -> last state
        self.gone_at: dict[str, float] = {}
        self.out_at: dict[str, float] = {}  # target -> when it first left `healthy` after the notice
        self.drain_started = False
        # the node's targets: its instance and its pods' IPs.  The pollers and the watches race: the
        # target poller may see a pod's target before the pod watch says its IP (a slow or faulty
        # Kubernetes API), so an IP counts from shortly before the pod record that names it.
        self.ip_seen: dict[str, float] = {}
        for r in of(ordered, PodRecord):
            if r.node == m.node and r.owner_kind != "DaemonSet" and r.ip:
                self.ip_seen.setdefault(r.ip, r.t)

    def is_target(self, r: TargetRecord) -> bool:
        return r.target == self.m.instance or r.t >= self.ip_seen.get(r.target, float("inf")) - IP_RACE_S

    def node(self, r: NodeRecord, after: bool) -> None:
        m = self.m
        if not after:
            return
        for flag, handler in ((r.nth_taint, "aws-node-termination-handler"), (r.karpenter_taint, "karpenter")):
            if flag and handler not in m.handlers:
                m.handlers.append(handler)
        if m.taint is None and (r.nth_taint or r.karpenter_taint):
            m.taint = _dated(r.t, r.taint_by, m.notice)
        # Karpenter never sets spec.unschedulable: its karpenter.sh/disrupted NoSchedule taint is its cordon
        if m.cordon is None and (r.unschedulable or r.karpenter_taint):
            m.cordon = _dated(r.t, r.cordon_by if r.unschedulable else r.taint_by, m.notice)
            m.cordon_seen = r.t

    def pod(self, r: PodRecord, after: bool) -> None:
        m = self.m
        if r.node == m.node and r.owner_kind != "DaemonSet":
            if r.deleted:
                self.live.pop(r.pod, None)
            else:
                self.live[r.pod] = r
            if after and m.first_eviction is None and (r.terminating or r.deleted):
                m.first_eviction = r.t
                self.drain_started = True
        elif r.pod in self.live:
            self.live.pop(r.pod, None)  # moved (should not happen) or lost its node
        if after and m.drained is None and self.drain_started and not self.live:
            m.drained = r.t

    def target(self, r: TargetRecord, after: bool) -> None:
        m = self.m
        self.targets[r.target] = r.state
        if not after:
            return
        if r.state != "healthy":
            self.out_at.setdefault(r.target, r.t)
        if r.state == "draining" and m.target_draining is None:
            m.target_draining = r.t
        if r.state == "gone":
            self.gone_at.setdefault(r.target, r.t)

    def at_notice(self) -> None:
        """Before the notice: what the node held when it came."""
        m = self.m
        m.pods_at_notice = len(self.live)
        m.targets_at_notice = sorted(k for k, s in self.targets.items() if s != "gone")
        m.healthy_at_notice = sorted(k for k, s in self.targets.items() if s == "healthy")

    def finish(self) -> None:
        m = self.m
        if m.drained is None and not m.pods_at_notice and m.cordon is not None:
            m.drained = m.cordon  # nothing to evict: drained once cordoned
        if m.healthy_at_notice and set(m.healthy_at_notice) <= set(self.out_at):
            m.targets_out = max(self.out_at[k] for k in m.healthy_at_notice)
        watched = set(m.targets_at_notice)
        if watched and watched <= set(self.gone_at):
            m.targets_gone = max(self.gone_at[k] for k in watched)
        if m.target_draining is not None and not watched:
            m.targets_at_notice = sorted(set(self.gone_at) | {k for k, s in self.targets.items() if s == "draining"})


def _replacements(result: list[NodeMilestones], fold: MilestoneFold) -> None:
    first_injection = min((m.notice for m in result), default=None)
    if first_injection is None:
        return
    seen_before: set[str] = set()
    # a new instance, by its instance record or its Node's, whichever came first: the EC2 poller may
    # see an instance later than its kubelet registers (a slow or failing API)
    first_seen: dict[str, float] = {}
    for iid, t in fold.node_first.items():
        if t < first_injection:
            seen_before.add(iid)
        else:
            first_seen[iid] = t
    groups: dict[str, str] = {}
    for t, _, r in sorted(fold.instances, key=lambda e: (e[0], e[1])):
        iid = r.instance
        if r.group:
            groups.setdefault(iid, r.group)
        if t < first_injection:
            seen_before.add(iid)
        elif iid not in seen_before and r.state in ("pending", "running"):
            first_seen[iid] = min(t, first_seen.get(iid, t))
    new = sorted((t, iid) for iid, t in first_seen.items() if iid not in seen_before)
    ready = fold.node_ready
    for m in result:
        m.group = groups.get(m.instance)
    taken: set[str] = set()
    for m in sorted((m for m in result if m.reclaims), key=lambda m: (m.reclaimed if m.reclaimed is not None else float("inf"), m.notice)):
        for t, iid in new:
            if iid in taken or t < m.notice:
                continue
            taken.add(iid)
            m.replacement_instance, m.replacement_requested, m.replacement_group = iid, t, groups.get(iid)
            claim = fold.claim_of.get(iid)
            if claim is not None:
                m.replacement_nodeclaim = claim
                m.replacement_requested = min(t, fold.claim_first.get(claim, t))
            if iid in ready and ready[iid] >= t:
                m.replacement_ready = ready[iid]
            break


def _replicas(result: list[NodeMilestones], deployments: list[DeploymentRecord]) -> None:
    """When the serving Deployment is back to its desired Ready replicas after the node's pods went:
    from their eviction (or the reclaim), or from the loss itself for a node lost without notice.
    The Deployment's state just before counts: a dip that began earlier is a dip."""
    for m in result:
        start = m.notice if not m.warned else m.first_eviction if m.first_eviction is not None else m.reclaimed
        if start is None:
            continue
        before = [r for r in deployments if r.t < start]
        window = before[-1:] + [r for r in deployments if r.t >= start]
        dipped = False
        for r in window:
            if r.ready < r.desired:
                dipped = True
            elif dipped:
                m.replicas_restored = max(r.t, start)
                break
        # no replica was lost: only once the node's pods are gone (a dead kubelet's pods look Ready for a while)
        settled = not m.pods_at_notice or m.drained is not None
        if not dipped and settled and window and window[-1].ready >= window[-1].desired:
            m.replicas_restored = start


def ready_share(records: list[Record], since: float) -> tuple[float | None, float | None]:
    """(lowest ready/desired of the serving Deployment from `since` on, when it was lowest)."""
    ordered = sorted(of(records, DeploymentRecord), key=lambda r: r.t)
    before = [r for r in ordered if r.t < since]
    window = ([before[-1]] if before else []) + [r for r in ordered if r.t >= since]
    low: tuple[float | None, float | None] = (None, None)
    for r in window:
        if r.desired <= 0:
            continue
        share = r.ready / r.desired
        if low[0] is None or share < low[0]:
            low = (share, max(r.t, since))
    return low
