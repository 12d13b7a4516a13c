"""Whether a cluster the run did not build has settled since the last run on it: on a simulator kept
running (`target.simulator.state_dir`), the runs before this one interrupted nodes, and an
experiment that starts while their replacements boot, their targets drain or their nodes are being
drained would measure the last run's recovery along with its own.  From the observers' latest
records; pure.

Only what recovers by itself is waited for (what a Spot interruption leaves behind while the
cluster heals), so a cluster that is as it will stay is never waited on:

- a node NotReady (booting, or its instance going), tainted by NTH or by Karpenter's disruption
  (being drained), cordoned, or excluded from load balancers; a node whose instance is `stopped`
  (an AZ power interruption's on-demand instances) stays NotReady until someone starts it, and is
  not waited for;
- an instance pending, shutting down or stopping, or running in a group with no node yet;
- a load balancer target registering (`initial`) or draining;
- the service's Deployment with fewer Ready replicas than it wants;
- a Karpenter NodeClaim being deleted, or launched and not yet initialized."""

from __future__ import annotations

from collections.abc import Iterable

from chaos.journal import Record
from chaos.journal.records import (
    DeploymentRecord,
    InstanceRecord,
    NodeClaimRecord,
    NodeRecord,
    R,
    TargetRecord,
)

SETTLE_TIMEOUT_S = 600.0  # cluster seconds: a replacement Ready (5 min at most in the shipped experiments) and a 300 s deregistration delay
SHOWN = 4  # problems named in an abort's one line


def _latest(records: Iterable[Record], kind: type[R], key: str) -> dict[object, R]:
    out: dict[object, R] = {}
    for r in records:
        if isinstance(r, kind):
            out[tuple(getattr(r, k) for k in key.split(","))] = r
    return out


def _node_problems(nodes: Iterable[NodeRecord], stopped: set[str]) -> list[str]:
    out = []
    for n in nodes:
        if n.deleted:
            continue
        why = [w for w, on in (("NotReady", not n.ready and n.instance not in stopped), ("tainted by NTH", n.nth_taint),
                               ("being disrupted by Karpenter", n.karpenter_taint), ("cordoned", n.unschedulable),
                               ("excluded from load balancers", n.exclude_lb)) if on]
        if why:
            out.append(f"node {n.node} {', '.join(why)}")
    return out


def _instance_problems(instances: Iterable[InstanceRecord], nodes: Iterable[NodeRecord]) -> list[str]:
    with_node = {n.instance for n in nodes if not n.deleted}
    out = []
    for i in instances:
        if i.state in ("pending", "shutting-down", "stopping"):
            out.append(f"instance {i.instance} {i.state}")
        elif i.state == "running" and i.group and i.instance not in with_node:
            out.append(f"instance {i.instance} of {i.group} running without its node yet")
    return out


def unsettled(records: Iterable[Record], namespace: str, deployment: str) -> list[str]:
    """What is still recovering, one phrase each (empty: settled)."""
    records = list(records)
    nodes = list(_latest(records, NodeRecord, "node").values())
    instances = list(_latest(records, InstanceRecord, "instance").values())
    stopped = {i.instance for i in instances if i.state == "stopped"}
    out = _node_problems(nodes, stopped) + _instance_problems(instances, nodes)
    out += [f"target {t.target}:{t.port} of {t.group} {t.state}" for t in _latest(records, TargetRecord, "group,target,port").values()
            if t.state in ("initial", "draining")]
    serving = _latest(records, DeploymentRecord, "namespace,name").get((namespace, deployment))
    if serving is not None and serving.ready < serving.desired:
        out.append(f"Deployment {namespace}/{deployment} {serving.ready} of {serving.desired} Ready")
    for c in _latest(records, NodeClaimRecord, "nodeclaim").values():
        if c.deleted:
            continue
        if c.deleting:
            out.append(f"NodeClaim {c.nodeclaim} being deleted")
        elif c.launched and not c.initialized:
            out.append(f"NodeClaim {c.nodeclaim} launched, not yet initialized")
    return out


def describe(problems: list[str]) -> str:
    return "; ".join(problems[:SHOWN]) + (f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")
