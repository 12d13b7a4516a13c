"""The EC2 side of nodes: every running instance of a cluster's Auto Scaling groups boots a
kubelet; an instance that leaves `running` takes its kubelet down with it.  Also runs the
ASGs' health-check pass (replacement of lost instances) on the same beat."""

from __future__ import annotations

from typing import Any

import structlog

from cluster.sim.aws.moto_server import backend, instances_by_id
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.kubelet import InstanceInfo, Kubelets
from cluster.sim.controllers.node_lifecycle import NodeLifecycle

log = structlog.get_logger("sim.ec2_nodes")

CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
LABEL_TAG_PREFIX = "k8s.io/cluster-autoscaler/node-template/label/"
TAINT_TAG_PREFIX = "k8s.io/cluster-autoscaler/node-template/taint/"
RETRY_REAL_SECONDS = 0.05
NODEGROUP_TAGS = ("eks:nodegroup-name", "alpha.eksctl.io/nodegroup-name")
NODECLAIM_TAG = "karpenter.sh/nodeclaim"  # instances Karpenter launched (CreateFleet), outside any group
# Karpenter's nodes join tainted until it registers them (KC registration.go; the AMI's bootstrap adds it)
UNREGISTERED_TAINT = {"key": "karpenter.sh/unregistered", "value": "", "effect": "NoExecute"}


def _tags(group: Any) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in group.tags or []}


def cluster_of(tags: dict[str, str]) -> str | None:
    for key, value in tags.items():
        if key.startswith(CLUSTER_TAG_PREFIX) and value in ("owned", "shared"):
            return key[len(CLUSTER_TAG_PREFIX):]
    return None


def node_template(tags: dict[str, str]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Labels and taints from the node-template tags eksctl writes and Cluster Autoscaler reads."""
    labels = {k[len(LABEL_TAG_PREFIX):]: v for k, v in tags.items() if k.startswith(LABEL_TAG_PREFIX)}
    taints = []
    for k, v in tags.items():
        if k.startswith(TAINT_TAG_PREFIX):
            value, _, effect = v.rpartition(":")
            taints.append({"key": k[len(TAINT_TAG_PREFIX):], "value": value, "effect": effect or "NoSchedule"})
    return labels, taints


class Ec2Nodes(Controller):
    name = "ec2-nodes"
    kinds = ()

    def __init__(self, ctx: SimContext, kubelets: Kubelets, lifecycle: NodeLifecycle) -> None:
        super().__init__(ctx)
        self.kubelets = kubelets
        self.lifecycle = lifecycle
        self.resync = ctx.config.timings.aws_poll
        self.region = ctx.config.region
        self._known: dict[str, str] = {}  # instance id -> node name

    def tick(self) -> None:
        assert self.ctx.moto is not None and self.ctx.autoscaling is not None
        lock = self.ctx.moto.lock
        if not lock.acquire(blocking=False):
            # moto is busy with a request (a big launch can take a while): never block the
            # event loop on it; look again shortly
            self.clock.call_later(self.clock.speed * RETRY_REAL_SECONDS, self.tick)
            return
        try:
            self.ctx.autoscaling.reconcile()
            seen = self._scan()
        finally:
            lock.release()
        for iid, (state, info) in seen.items():
            if state == "running" and iid not in self._known:
                self._known[iid] = info.private_dns
                self.kubelets.boot(info)
                log.info("instance_booting", instance=iid, node=info.private_dns, instance_type=info.instance_type, az=info.az)
            elif state not in ("pending", "running") and iid in self._known:
                node = self._known.pop(iid)
                if state in ("shutting-down", "terminated"):
                    self.lifecycle.gone_instances.add(iid)
                self.kubelets.kill(node)
        for iid in [i for i in self._known if i not in seen]:
            node = self._known.pop(iid)
            self.lifecycle.gone_instances.add(iid)
            self.kubelets.kill(node)

    def _scan(self) -> dict[str, tuple[str, InstanceInfo]]:
        want = self.ctx.config.cluster_name
        asb = backend("autoscaling", self.region)
        out: dict[str, tuple[str, InstanceInfo]] = {}
        for group in asb.autoscaling_groups.values():
            tags = _tags(group)
            cluster = cluster_of(tags)
            if cluster is None or (want and cluster != want):
                continue
            labels, taints = node_template(tags)
            nodegroup = next((tags[t] for t in NODEGROUP_TAGS if t in tags), group.name)
            for st in group.instance_states:
                out[st.instance.id] = (st.instance.state, self._info(st.instance, nodegroup, labels, taints))
        # Karpenter's instances, found by their tags (most clusters have none: no scan of every instance)
        fleet = [rid for rid, tags in backend("ec2", self.region).tags.items()
                 if NODECLAIM_TAG in tags and cluster_of(tags) is not None and (not want or cluster_of(tags) == want)]
        # instances already taken out of their group by the health check still need their kubelet stopped
        missing = [iid for iid in self._known if iid not in out]
        if fleet or missing:
            instances = instances_by_id(self.region)
            for iid in fleet:
                inst = instances.get(iid)
                if inst is not None:
                    out[iid] = (inst.state, self._info(inst, "", {}, [dict(UNREGISTERED_TAINT)], eks_labels=False))
            missing = [iid for iid in missing if iid not in out]
            for iid in missing:
                inst = instances.get(iid)
                if inst is not None:
                    out[iid] = (inst.state, self._info(inst, "", {}, []))
        return out

    def _info(self, inst: Any, nodegroup: str, labels: dict[str, str], taints: list[dict[str, str]], *, eks_labels: bool = True) -> InstanceInfo:
        return InstanceInfo(
            instance_id=inst.id,
            instance_type=inst.instance_type,
            az=inst.placement.zone if hasattr(inst.placement, "zone") else str(inst.placement),
            region=self.region,
            private_dns=inst.private_dns_name,
            private_ip=inst.private_ip,
            spot=getattr(inst, "lifecycle", None) == "spot",
            nodegroup=nodegroup,
            labels=labels,
            taints=taints,
            eks_labels=eks_labels,
        )
