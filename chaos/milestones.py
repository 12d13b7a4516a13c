"""What happened to each interrupted node, read from the journal: notice, taint, cordon, first
eviction, drained, target draining, targets gone, reclaimed, replacement requested and Ready,
serving replicas restored.  Pure: records in, milestones out (times in cluster seconds)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.journal import Record

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
    first_eviction: float | None = None
    drained: float | None = None
    target_draining: float | None = None
    targets_gone: float | None = None
    targets_out: float | None = None  # every target healthy at the notice has left `healthy`
    reclaimed: float | None = None
    group: str | None = None  # the Auto Scaling group the interrupted instance belonged to
    replacement_instance: str | None = None
    replacement_group: str | None = None
    replacement_requested: float | None = None
    replacement_ready: float | None = None
    replicas_restored: float | None = None
    pods_at_notice: int = 0
    targets_at_notice: list[str] = field(default_factory=list)
    healthy_at_notice: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def since_notice(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else round(value - self.notice, 3)


def _ordered(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: r["t"])


def injected(records: Iterable[Record]) -> list[Record]:
    return [r for r in records if r["kind"] == "injected" and r.get("instance")]


def _notice(r: Record, fis_started: dict[str, float]) -> tuple[float, float | None]:
    """(notice, expected reclaim): FIS acts (sends the notice, stops or terminates) when its
    experiment's actions start, not when the harness asked for the experiment."""
    started = fis_started.get(r.get("fis_experiment") or "")
    if started is None or started < r["t"]:
        return r["t"], r.get("reclaim_t")
    shift = started - r["t"]
    return started, (r["reclaim_t"] + shift if r.get("reclaim_t") is not None else None)


def node_milestones(records: list[Record]) -> list[NodeMilestones]:
    ordered = _ordered(records)
    fis_started: dict[str, float] = {}
    for r in ordered:
        if r["kind"] == "fis_action" and r.get("started_t") is not None:
            fis_started[r["experiment"]] = min(r["started_t"], fis_started.get(r["experiment"], r["started_t"]))
    result = []
    for r in injected(ordered):
        notice, reclaim = _notice(r, fis_started)
        result.append(NodeMilestones(instance=r["instance"], node=r.get("node"), injection=r.get("injection", ""), via=r.get("via", ""),
                                     action=r.get("action", "spot-interruption"), notice=notice, expected_reclaim=reclaim,
                                     # journals from before `reclaims` was recorded: Spot interruptions were the ones reclaimed
                                     reclaims=bool(r.get("reclaims", r.get("action", "spot-interruption") == "spot-interruption")),
                                     warned=bool(r.get("warned", True))))
    for m in result:
        _follow(m, ordered)
    _replacements(result, ordered)
    _replicas(result, ordered)
    return result


def _follow(m: NodeMilestones, ordered: list[Record]) -> None:
    live: dict[str, Record] = {}  # pods on the node, not deleted
    ips: set[str] = set()
    targets: dict[str, str] = {}  # target id -> last state
    node_targets: set[str] = {m.instance}
    gone_at: dict[str, float] = {}
    out_at: dict[str, float] = {}  # target -> when it first left `healthy` after the notice
    drain_started = False
    for r in ordered:
        kind, t = r["kind"], r["t"]
        after = t >= m.notice
        if kind == "node" and r.get("node") == m.node:
            if after and m.taint is None and r.get("nth_taint"):
                m.taint = t
            if after and m.cordon is None and r.get("unschedulable"):
                m.cordon = t
        elif kind == "pod":
            key = r["pod"]
            if r.get("node") == m.node and r.get("owner_kind") != "DaemonSet":
                if r.get("ip"):
                    ips.add(r["ip"])
                    node_targets.add(r["ip"])
                if r.get("deleted"):
                    live.pop(key, None)
                else:
                    live[key] = r
                if after and m.first_eviction is None and (r.get("terminating") or r.get("deleted")):
                    m.first_eviction = t
                    drain_started = True
            elif key in live:
                live.pop(key, None)  # moved (should not happen) or lost its node
            if after and m.drained is None and drain_started and not live:
                m.drained = t
        elif kind == "target":
            tid = r["target"]
            if tid not in node_targets:
                continue
            if not after:
                targets[tid] = r["state"]
                continue
            targets[tid] = r["state"]
            if r["state"] != "healthy":
                out_at.setdefault(tid, t)
            if r["state"] == "draining" and m.target_draining is None:
                m.target_draining = t
            if r["state"] == "gone":
                gone_at.setdefault(tid, t)
        elif kind == "instance" and r.get("instance") == m.instance:
            if after and m.reclaimed is None and r.get("state") in GONE_STATES:
                m.reclaimed = t
        if t < m.notice:
            m.pods_at_notice = len(live)
            m.targets_at_notice = sorted(k for k, s in targets.items() if s != "gone")
            m.healthy_at_notice = sorted(k for k, s in targets.items() if s == "healthy")
    if m.drained is None and not m.pods_at_notice and m.cordon is not None:
        m.drained = m.cordon  # nothing to evict: drained once cordoned
    if m.healthy_at_notice and set(m.healthy_at_notice) <= set(out_at):
        m.targets_out = max(out_at[k] for k in m.healthy_at_notice)
    watched = set(m.targets_at_notice)
    if watched and watched <= set(gone_at):
        m.targets_gone = max(gone_at[k] for k in watched)
    if m.target_draining is not None and not watched:
        m.targets_at_notice = sorted(set(gone_at) | {k for k, s in targets.items() if s == "draining"})


def _replacements(result: list[NodeMilestones], ordered: list[Record]) -> None:
    first_injection = min((m.notice for m in result), default=None)
    if first_injection is None:
        return
    seen_before: set[str] = set()
    first_seen: dict[str, float] = {}  # a new instance, by its instance record or its Node's, whichever came first
    groups: dict[str, str] = {}
    ready: dict[str, float] = {}
    for r in ordered:
        if r["kind"] == "node" and r.get("instance"):
            iid = r["instance"]
            if r["t"] < first_injection:
                seen_before.add(iid)
            elif iid not in seen_before:
                # the EC2 poller may see an instance later than its kubelet registers (a slow or failing API)
                first_seen.setdefault(iid, r["t"])
            if r.get("ready") and iid not in ready:
                ready[iid] = r["t"]
        if r["kind"] != "instance":
            continue
        iid = r["instance"]
        if r.get("group"):
            groups.setdefault(iid, r["group"])
        if r["t"] < first_injection:
            seen_before.add(iid)
        elif iid not in seen_before and r.get("state") in ("pending", "running"):
            first_seen.setdefault(iid, r["t"])
    new = sorted((t, iid) for iid, t in first_seen.items() if iid not in seen_before)
    for m in result:
        m.group = groups.get(m.instance)
    taken: set[str] = set()
    for m in sorted((m for m in result if m.reclaims), key=lambda m: (m.reclaimed if m.reclaimed is not None else float("inf"), m.notice)):
        for t, iid in new:
            if iid in taken or t < m.notice:
                continue
            taken.add(iid)
            m.replacement_instance, m.replacement_requested, m.replacement_group = iid, t, groups.get(iid)
            if iid in ready and ready[iid] >= t:
                m.replacement_ready = ready[iid]
            break


def _replicas(result: list[NodeMilestones], ordered: list[Record]) -> None:
    """When the serving Deployment is back to its desired Ready replicas after the node's pods went:
    from their eviction (or the reclaim), or from the loss itself for a node lost without notice.
    The Deployment's state just before counts: a dip that began earlier is a dip."""
    deployments = [r for r in ordered if r["kind"] == "deployment"]
    for m in result:
        start = m.notice if not m.warned else m.first_eviction if m.first_eviction is not None else m.reclaimed
        if start is None:
            continue
        before = [r for r in deployments if r["t"] < start]
        window = before[-1:] + [r for r in deployments if r["t"] >= start]
        dipped = False
        for r in window:
            if r["ready"] < r["desired"]:
                dipped = True
            elif dipped:
                m.replicas_restored = max(r["t"], start)
                break
        # no replica was lost: only once the node's pods are gone (a dead kubelet's pods look Ready for a while)
        settled = not m.pods_at_notice or m.drained is not None
        if not dipped and settled and window and window[-1]["ready"] >= window[-1]["desired"]:
            m.replicas_restored = start


def ready_share(records: list[Record], since: float) -> tuple[float | None, float | None]:
    """(lowest ready/desired of the serving Deployment from `since` on, when it was lowest)."""
    ordered = [r for r in _ordered(records) if r["kind"] == "deployment"]
    before = [r for r in ordered if r["t"] < since]
    window = ([before[-1]] if before else []) + [r for r in ordered if r["t"] >= since]
    low: tuple[float | None, float | None] = (None, None)
    for r in window:
        if r["desired"] <= 0:
            continue
        share = r["ready"] / r["desired"]
        if low[0] is None or share < low[0]:
            low = (share, max(r["t"], since))
    return low
