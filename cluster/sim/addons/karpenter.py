"""Karpenter as the simulator runs it: found by image in a Deployment, configured only by its
container's env vars and flags (CLUSTER_NAME, INTERRUPTION_QUEUE, BATCH_*), acting on the NodePool,
EC2NodeClass and NodeClaim objects, active while its pod runs.  The decisions are
karpenter_plan.py's; this module carries them out through the Kubernetes API, moto's EC2 and the
real SQS API:

- provisioning: pending pods (and the pods of nodes being deleted) -> NodeClaims -> one instance
  each, price-capacity-optimized among the claim's types and zones, Spot before on-demand;
  an offering that fails (ICE) is unavailable for 3 minutes;
- registration: the node joins tainted `karpenter.sh/unregistered`, gets the claim's labels and
  taints and the termination finalizer, then Registered / Initialized / Ready;
- interruption: the queue's messages (Spot warning, scheduled change, state change) delete the
  NodeClaim; a rebalance recommendation is only recorded;
- termination: the NodeClaim's deletion deletes its Node; the Node's finalizer taints
  `karpenter.sh/disrupted`, labels it out of external load balancers, drains it through the
  Eviction API (forcing at the terminationGracePeriod), ends the instance, then lets both go;
- garbage collection: a NodeClaim whose instance is gone is deleted (every 2 minutes);
- consolidation: empty nodes (WhenEmpty) and nodes whose pods fit elsewhere
  (WhenEmptyOrUnderutilized) after consolidateAfter, within the disruption budgets."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import string
from collections import Counter
from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any

import boto3
import structlog

from cluster.components.karpenter import IMAGE_MARK, KarpenterSettings, settings
from cluster.instance_types import INSTANCE_TYPES, allocatable
from cluster.kube_views import is_ready
from cluster.nodegroups import EKS_AMI
from cluster.quantities import format_bytes_ki, format_millicores
from cluster.sim.addons import karpenter_plan as kp
from cluster.sim.addons import karpenter_status
from cluster.sim.addons.drain import evict_pods
from cluster.sim.addons.workloads import AddonWorkloads
from cluster.sim.aws.capacity_pools import choose_pool
from cluster.sim.aws.moto_server import backend, instance_by_id, instances_by_id
from cluster.sim.aws.spot_requests import attach_request
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.scheduling import (
    NodeInfo,
    node_selector_matches,
    pod_requests,
    tolerates,
)
from cluster.sim.kube.errors import ApiError
from cluster.sim.tasks import ShortTasks

log = structlog.get_logger("sim.karpenter")

COMPONENT = "karpenter"
PROVISION_TICK = 1.0  # cluster seconds between looks at pending pods (the batch idle window)
QUEUE_POLL_SECONDS = 1.0  # stands in for the 20 s long poll, which returns as soon as a message arrives
VISIBILITY_TIMEOUT = 20.0
GC_PERIOD = 120.0  # KC nodeclaim/garbagecollection: every 2 minutes
CONSOLIDATION_PERIOD = 10.0
STATUS_PERIOD = 5.0  # cluster seconds between status writes on NodePools and EC2NodeClasses (only what changed is written)
MIN_REAL_PERIOD = 0.05
LIVE = ("pending", "running")


def _instance_of(obj: dict[str, Any]) -> str:
    """The instance id in a NodeClaim's status.providerID or a Node's spec.providerID ("" before launch)."""
    where = (obj.get("status") or {}) if obj.get("kind") == "NodeClaim" else (obj.get("spec") or {})
    return str(where.get("providerID") or "").rsplit("/", 1)[-1]


def _condition(obj: dict[str, Any], kind: str, status: str, reason: str, message: str, now: str) -> None:
    conds = obj.setdefault("status", {}).setdefault("conditions", [])
    for c in conds:
        if c["type"] == kind:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            c.update(status=status, reason=reason, message=message)
            return
    conds.append({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": now})


class Karpenter(Controller):
    name = "karpenter"
    kinds = ("Deployment", "Pod", "NodeClaim", "Node")
    resync = 5.0

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.region = ctx.config.region
        self.rts = {k: ctx.api.rt(k) for k in ("Pod", "Node", "NodeClaim", "NodePool", "EC2NodeClass", "DaemonSet")}
        self.workloads = AddonWorkloads(ctx.api, ("Deployment",), IMAGE_MARK, settings, "karpenter_settings_invalid", "Karpenter exits at start")
        self.settings: KarpenterSettings | None = None
        self.loops: list[asyncio.Task[None]] = []
        self.tasks = ShortTasks()
        self.unavailable: dict[tuple[str, str, str], float] = {}  # (type, zone, capacity type) -> until (cluster time)
        self.nominated: dict[str, str] = {}  # pod key -> NodeClaim it waits for
        self.nominated_at: dict[str, float] = {}  # NodeClaim -> when pods were last nominated to it (no consolidation meanwhile)
        self._unplaced_said: tuple[str, ...] = ()  # the pods no NodePool fits, as last logged (said once, not every pass)
        self.pending_since: dict[str, float] = {}  # pod key -> when the provisioner first saw it need capacity
        self.draining: set[str] = set()  # nodes whose drain runs
        self.empty_since: dict[str, float] = {}  # node -> since when consolidation finds it a candidate
        self._rng = random.Random()

    # ---- is Karpenter deployed and running? -------------------------------------------------------
    def keys_for(self, ev: Any) -> Iterable[Hashable]:
        kind = ev.resource.kind
        if kind in ("Deployment", "Pod"):
            return ["scan"] if kind != "Pod" or self.workloads.deployed else []
        if self.settings is None:
            return []
        return [(kind, ev.obj["metadata"]["name"])]

    def all_keys(self) -> Iterable[Hashable]:
        keys: list[Hashable] = ["scan"]
        if self.settings is not None:
            keys += [("NodeClaim", c["metadata"]["name"]) for c in self.api.store.iter(self.rts["NodeClaim"])]
            keys += [("Node", n["metadata"]["name"]) for n in self.api.store.iter(self.rts["Node"]) if n["metadata"].get("deletionTimestamp")]
        return keys

    def reconcile(self, key: Hashable) -> None:
        if key == "scan":
            running = next((f for f in self.workloads.scan() if f.running), None)
            found = running.config if running is not None else None
            if found != self.settings:
                self._stop_loops()
                self.settings = found
                if found is not None:
                    loop = asyncio.get_running_loop()
                    self.loops = [loop.create_task(self._every(PROVISION_TICK, self._provision)),
                                  loop.create_task(self._every(GC_PERIOD, self._garbage_collect)),
                                  loop.create_task(self._every(CONSOLIDATION_PERIOD, self._consolidate)),
                                  loop.create_task(self._every(STATUS_PERIOD, self._write_statuses))]
                    if found.interruption_queue:
                        self.loops.append(loop.create_task(self._queue_loop(found)))
                    log.info("karpenter_running", cluster=found.cluster_name, interruption_queue=found.interruption_queue or None,
                             interruption_handling=found.handles_interruptions)
            return
        if self.settings is None or not isinstance(key, tuple):
            return
        kind, name = key
        if kind == "NodeClaim":
            self._reconcile_claim(name)
        elif kind == "Node":
            self._reconcile_node(name)

    def _stop_loops(self) -> None:
        for t in self.loops:
            t.cancel()
        self.loops = []

    async def stop(self) -> None:
        self._stop_loops()
        self.tasks.cancel()

    async def _every(self, period: float, work: Any) -> None:
        while True:
            await self.clock.sleep_real(max(MIN_REAL_PERIOD, self.clock.real_seconds(period)))
            try:
                work()
            except Exception:
                log.exception("karpenter_pass_failed", work=getattr(work, "__name__", str(work)))

    def _event(self, obj: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        self.ctx.recorder(COMPONENT).record(obj, reason, message, type_)

    # ---- NodePools and EC2NodeClasses ---------------------------------------------------------------
    def _subnets(self, node_class: dict[str, Any]) -> dict[str, str]:
        """zone -> subnet, from the class's subnetSelectorTerms (tags or ids), as its status lists them."""
        terms = (node_class.get("spec") or {}).get("subnetSelectorTerms") or []
        ec2 = backend("ec2", self.region)
        tags = ec2.tags
        out: dict[str, str] = {}
        for subnet in sorted(ec2.describe_subnets(), key=lambda s: s.id):
            have = tags.get(subnet.id) or {}
            if any((t.get("id") == subnet.id) or (t.get("tags") and all(v == "*" and k in have or have.get(k) == v for k, v in t["tags"].items()))
                   for t in terms):
                out.setdefault(subnet.availability_zone, subnet.id)
        return out

    def _write_statuses(self) -> None:
        """The NodeClasses' and NodePools' status, as Karpenter's status controllers keep them."""
        now = self.clock.isoformat(self.clock.timestamp())
        cluster = self.settings.cluster_name if self.settings is not None else ""
        ready: dict[str, bool] = {}
        assert self.ctx.moto is not None
        for node_class in self.api.store.iter(self.rts["EC2NodeClass"]):
            with self.ctx.moto.lock:
                subnets = self._subnets(node_class)
            status = karpenter_status.nodeclass_status(node_class, subnets, EKS_AMI, cluster, now)
            ready[node_class["metadata"]["name"]] = bool(subnets)
            self._set_status("EC2NodeClass", node_class, status)
        nodes = [n for n in self.api.store.iter(self.rts["Node"]) if not n["metadata"].get("deletionTimestamp")]
        for pool in self.api.store.iter(self.rts["NodePool"]):
            name = pool["metadata"]["name"]
            ref = (((pool.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeClassRef") or {}
            mine = [n for n in nodes if (n["metadata"].get("labels") or {}).get(kp.NODEPOOL) == name]
            self._set_status("NodePool", pool, karpenter_status.nodepool_status(pool, mine, ready.get(str(ref.get("name", "")), False), now))

    def _set_status(self, kind: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
        if (obj.get("status") or {}) == status:
            return

        def change(o: dict[str, Any]) -> None:
            o["status"] = status
        self.api.mutate(self.rts[kind], "", obj["metadata"]["name"], change)

    def _pools(self) -> list[tuple[kp.PoolShape, dict[str, str]]]:
        """Each NodePool with its node class's subnets, heaviest weight first."""
        classes = {c["metadata"]["name"]: c for c in self.api.store.iter(self.rts["EC2NodeClass"])}
        assert self.ctx.moto is not None
        out = []
        with self.ctx.moto.lock:
            subnets_by_class = {name: self._subnets(c) for name, c in classes.items()}
        for pool in self.api.store.iter(self.rts["NodePool"]):
            ref = (((pool.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeClassRef") or {}
            subnets = subnets_by_class.get(str(ref.get("name", "")))
            if not subnets:
                continue  # NodeClassNotReady: no class, or no subnet found
            try:
                shape = kp.pool_shape(pool, sorted(subnets))
            except ValueError as exc:
                log.warning("karpenter_nodepool_invalid", nodepool=pool["metadata"]["name"], error=str(exc))
                continue
            out.append((shape, subnets))
        return sorted(out, key=lambda p: (-p[0].weight, p[0].name))

    def _available(self, shape: kp.PoolShape) -> kp.PoolShape:
        """The pool without the types whose every offering is unavailable (failed launches, Spot
        interruptions, the last 3 minutes): the scheduler does not plan on them."""
        types = tuple(t for t in shape.types if any((t, z, ct) not in self.unavailable for z in shape.zones for ct in shape.capacity_types))
        return dataclasses.replace(shape, types=types)

    def _overhead(self, shape: kp.PoolShape) -> tuple[int, int]:
        """What the DaemonSets that would run on the pool's nodes request."""
        cpu = mem = 0
        for ds in self.api.store.iter(self.rts["DaemonSet"]):
            spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
            if node_selector_matches(spec, shape.labels) and all(tolerates(spec.get("tolerations") or [], t) for t in shape.taints):
                c, m = pod_requests({"spec": spec})
                cpu, mem = cpu + c, mem + m
        return cpu, mem

    # ---- provisioning ----------------------------------------------------------------------------------
    def _needs(self, pod: dict[str, Any]) -> kp.PodNeeds:
        spec = pod.get("spec") or {}
        cpu, mem = pod_requests(pod)
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {})
        terms = tuple(tuple(t.get("matchExpressions") or []) for t in required.get("nodeSelectorTerms") or [])
        respect = self.settings is None or self.settings.preference_policy != "Ignore"
        return kp.PodNeeds(f"{pod['metadata']['namespace']}/{pod['metadata']['name']}", cpu, mem, dict(spec.get("nodeSelector") or {}), terms,
                           tuple(spec.get("tolerations") or []), kp.spread_needs(pod, respect))

    def _claims(self) -> dict[str, dict[str, Any]]:
        return {c["metadata"]["name"]: c for c in self.api.store.iter(self.rts["NodeClaim"])}

    def _provision(self) -> None:
        """Karpenter's provisioner: the pods that want capacity, batched, onto the room of claims
        coming up first, then packed into new NodeClaims per NodePool (its decisions in
        karpenter_plan)."""
        now = self.clock.timestamp()
        claims = self._claims()
        nodes = {n["metadata"]["name"]: n for n in self.api.store.iter(self.rts["Node"])}
        leaving = {n for n, obj in nodes.items() if obj["metadata"].get("deletionTimestamp")}
        leaving |= {str((c.get("status") or {}).get("nodeName")) for c in claims.values() if c["metadata"].get("deletionTimestamp")}
        wanting = kp.pods_wanting(self.api.store.iter(self.rts["Pod"]), leaving)
        in_flight = {n: c for n, c in claims.items() if not c["metadata"].get("deletionTimestamp") and not is_ready(c)}
        fresh = self._fresh(wanting, in_flight, now)
        # pods that fit the room of Ready nodes staying are the scheduler's to place
        existing = self._room_on_nodes(nodes, leaving) if fresh else {}
        fresh = [k for k in fresh if not self._place(existing, wanting[k])]
        if not fresh:
            return
        self.unavailable = {k: until for k, until in self.unavailable.items() if until > now}
        pools = [self._available(shape) for shape, _ in self._pools()]
        overheads = {shape.name: self._overhead(shape) for shape in pools}
        needs = [(key, self._needs(wanting[key])) for key in sorted(fresh)]
        assigned = kp.assign(needs, self._coming(in_flight, wanting, overheads), pools, self._zone_counts(needs, nodes, leaving, claims))
        self.nominated.update(assigned.nominated)
        self.nominated_at.update({claim: now for claim in assigned.nominated.values()})
        if assigned.unplaced and tuple(assigned.unplaced) != self._unplaced_said:
            log.info("karpenter_no_nodepool_fits", pods=assigned.unplaced[:5], count=len(assigned.unplaced),
                     nodepools=[s.name for s in pools] or "none ready (a NodePool's EC2NodeClass finds no subnet)")
        self._unplaced_said = tuple(assigned.unplaced)
        self._launch_claims(pools, assigned, overheads, now)

    def _zone_counts(self, needs: list[tuple[str, kp.PodNeeds]], nodes: dict[str, dict[str, Any]], leaving: set[str],
                     claims: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
        """The zone-spread groups' pods per zone: on nodes staying, and nominated to claims coming up."""
        zones = {name: str((n["metadata"].get("labels") or {}).get(kp.ZONE, "")) for name, n in nodes.items() if name not in leaving}
        waiting = {k: str((claims[c]["metadata"].get("labels") or {}).get(kp.ZONE, "")) for k, c in self.nominated.items() if c in claims}
        return kp.zone_counts((n for _, n in needs), self.api.store.iter(self.rts["Pod"]), zones, {k: z for k, z in waiting.items() if z})

    def _launch_claims(self, pools: list[kp.PoolShape], assigned: kp.Assignment, overheads: dict[str, tuple[int, int]], now: float) -> None:
        for shape in pools:
            for plan in kp.pack(shape, assigned.by_pool.get(shape.name, []), overheads[shape.name]):
                if not self._within_limits(shape, plan):
                    log.info("karpenter_nodepool_limit_reached", nodepool=shape.name)
                    break
                name = self._create_claim(shape, plan)
                self.nominated_at[name] = now
                for key in plan.pods:
                    self.nominated[key] = name

    def _fresh(self, wanting: dict[str, Any], in_flight: dict[str, Any], now: float) -> list[str]:
        """The pods wanting capacity that no coming claim is nominated for, once their batch closed
        (none while it is still open).  Nominations hold while the pod still wants capacity and its
        claim is still coming up."""
        self.nominated = {key: claim for key, claim in self.nominated.items() if key in wanting and claim in in_flight}
        self.pending_since = {key: since for key, since in self.pending_since.items() if key in wanting}
        fresh = [k for k in wanting if k not in self.nominated]
        for k in fresh:
            self.pending_since.setdefault(k, now)
        settings = self.settings
        assert settings is not None
        closed = fresh and kp.batch_closed([self.pending_since[k] for k in fresh], now, kp.parse_duration(settings.batch_idle_duration) or 1.0,
                                           kp.parse_duration(settings.batch_max_duration) or 10.0)
        return fresh if closed else []

    def _coming(self, in_flight: dict[str, Any], wanting: dict[str, Any], overheads: dict[str, tuple[int, int]]) -> list[kp.ComingClaim]:
        """The claims coming up, each with the room its instance type leaves (after its pool's
        overhead) less what is already nominated to it."""
        out = []
        for name, claim in in_flight.items():
            labels = claim["metadata"].get("labels") or {}
            if labels.get(kp.INSTANCE_TYPE) not in INSTANCE_TYPES:
                continue
            cpu, mem = kp.room(labels[kp.INSTANCE_TYPE], overheads.get(labels.get(kp.NODEPOOL, ""), (0, 0)))
            used = [self._needs(wanting[k]) for k, c in self.nominated.items() if c == name and k in wanting]
            out.append(kp.ComingClaim(name, labels.get(kp.NODEPOOL, ""), cpu - sum(u.cpu for u in used), mem - sum(u.mem for u in used),
                                      labels.get(kp.ZONE, ""), [s.group for u in used for s in u.spread]))
        return out

    def _within_limits(self, shape: kp.PoolShape, plan: kp.ClaimPlan) -> bool:
        if shape.cpu_limit is None:
            return True
        used = 0
        for claim in self._claims().values():
            labels = claim["metadata"].get("labels") or {}
            if labels.get(kp.NODEPOOL) == shape.name and labels.get(kp.INSTANCE_TYPE) in INSTANCE_TYPES:
                used += INSTANCE_TYPES[labels[kp.INSTANCE_TYPE]].vcpus * 1000
        smallest = min(INSTANCE_TYPES[t].vcpus for t in plan.types) * 1000
        return used + smallest <= shape.cpu_limit

    def _create_claim(self, shape: kp.PoolShape, plan: kp.ClaimPlan) -> str:
        name = f"{shape.name}-{''.join(self._rng.choices(string.ascii_lowercase + string.digits, k=5))}"
        requirements = [{"key": kp.INSTANCE_TYPE, "operator": "In", "values": list(plan.types)},
                        {"key": kp.ZONE, "operator": "In", "values": list(plan.zones)},
                        {"key": kp.CAPACITY_TYPE, "operator": "In", "values": list(plan.capacity_types)},
                        {"key": kp.NODEPOOL, "operator": "In", "values": [shape.name]}]
        spec: dict[str, Any] = {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": shape.node_class},
                                "requirements": requirements, "resources": {"requests": {"cpu": format_millicores(plan.cpu), "memory": format_bytes_ki(plan.mem)}},
                                "taints": list(shape.taints), "startupTaints": list(shape.startup_taints)}
        if shape.termination_grace is not None:
            spec["terminationGracePeriod"] = f"{int(shape.termination_grace)}s"
        claim = self.api.create(self.rts["NodeClaim"], "", {
            "apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
            "metadata": {"name": name, "labels": {**shape.labels, kp.NODEPOOL: shape.name}, "finalizers": [kp.TERMINATION_FINALIZER],
                         "annotations": {"karpenter.k8s.aws/ec2nodeclass-hash-version": "v4"},
                         "ownerReferences": [{"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "name": shape.name, "blockOwnerDeletion": True,
                                              "uid": self.api.get(self.rts["NodePool"], "", shape.name)["metadata"]["uid"]}]},
            "spec": spec,
        })
        log.info("created nodeclaim", nodepool=shape.name, nodeclaim=name, requests={"cpu": plan.cpu, "memory": plan.mem, "pods": len(plan.pods)},
                 instance_types=", ".join(plan.types[:5]) + (f" and {len(plan.types) - 5} other(s)" if len(plan.types) > 5 else ""))
        self._launch(claim, shape)
        return name

    def _launch(self, claim: dict[str, Any], shape: kp.PoolShape) -> None:
        """CreateFleet (type instant, one instance): Spot first with price-capacity-optimized, then
        on-demand at the lowest price, skipping unavailable offerings; ICE everywhere fails the claim."""
        assert self.ctx.moto is not None and self.ctx.autoscaling is not None
        name = claim["metadata"]["name"]
        reqs = {r["key"]: r.get("values") or [] for r in claim["spec"]["requirements"]}
        types, zones, cts = reqs[kp.INSTANCE_TYPE], reqs[kp.ZONE], reqs[kp.CAPACITY_TYPE]
        now = self.clock.timestamp()
        self.unavailable = {k: until for k, until in self.unavailable.items() if until > now}
        asg = self.ctx.autoscaling
        with self.ctx.moto.lock:
            blocked = asg.fleet_blocked_azs()
            subnets = self._subnets(self.api.get(self.rts["EC2NodeClass"], "", shape.node_class))
            # spread over zones as the serving pods' topology spread asks: the pool's claims per zone
            by_az = Counter(str((c["metadata"].get("labels") or {}).get(kp.ZONE)) for c in self.api.store.iter(self.rts["NodeClaim"])
                            if (c["metadata"].get("labels") or {}).get(kp.NODEPOOL) == shape.name and not c["metadata"].get("deletionTimestamp"))
            choice = None
            for ct in [c for c in ("spot", "on-demand") if c in cts]:
                excluded = frozenset((t, z) for t in types for z in zones if (t, z, ct) in self.unavailable or z in blocked)
                found = choose_pool(types, zones, by_az, asg.pools, "price-capacity-optimized" if ct == "spot" else "lowest-price", excluded)
                if found is not None:
                    choice = (found[0], found[1], ct)
                    break
                for t in types:  # the fleet's ICE marks each offering it tried
                    for z in zones:
                        if (t, z, ct) not in self.unavailable:
                            self.unavailable[(t, z, ct)] = now + kp.UNAVAILABLE_OFFERING_TTL
            if choice is None:
                self._launch_failed(name, types, zones)
                return
            itype, zone, ct = choice
            instance = self._run_instance(name, shape, itype, zone, ct, subnets.get(zone))
            asg.hold(instance.id, itype, zone)
        az_id = f"use1-az{zones.index(zone) + 1}" if zone in zones else ""

        def launched(c: dict[str, Any]) -> None:
            c["metadata"].setdefault("labels", {}).update({kp.INSTANCE_TYPE: itype, kp.ZONE: zone, kp.CAPACITY_TYPE: ct, "topology.k8s.aws/zone-id": az_id,
                                                          **kp.type_labels(itype)})
            cpu, mem = allocatable(INSTANCE_TYPES[itype])
            status = c.setdefault("status", {})
            status.update(providerID=f"aws:///{zone}/{instance.id}", imageID=EKS_AMI,
                          capacity={"cpu": str(INSTANCE_TYPES[itype].vcpus), "memory": f"{INSTANCE_TYPES[itype].memory_mib}Mi", "pods": str(INSTANCE_TYPES[itype].max_pods)},
                          allocatable={"cpu": format_millicores(cpu), "memory": format_bytes_ki(mem), "pods": str(INSTANCE_TYPES[itype].max_pods)})
            at = self.clock.isoformat()
            _condition(c, "Launched", "True", "Launched", "", at)
            _condition(c, "Registered", "Unknown", "AwaitingReconciliation", "object is awaiting reconciliation", at)
            _condition(c, "Initialized", "Unknown", "AwaitingReconciliation", "object is awaiting reconciliation", at)
            _condition(c, "Ready", "Unknown", "AwaitingReconciliation", "object is awaiting reconciliation", at)

        self.api.mutate(self.rts["NodeClaim"], "", name, launched)
        log.info("launched nodeclaim", nodeclaim=name, provider_id=f"aws:///{zone}/{instance.id}", instance_type=itype, zone=zone, capacity_type=ct,
                 allocatable=dict(zip(("cpu", "memory"), allocatable(INSTANCE_TYPES[itype]), strict=True)))

    def _run_instance(self, claim: str, shape: kp.PoolShape, itype: str, zone: str, ct: str, subnet: str | None) -> Any:
        ec2 = backend("ec2", self.region)
        cluster = self.settings.cluster_name if self.settings else ""
        node_class = self.api.get(self.rts["EC2NodeClass"], "", shape.node_class)
        tags = {f"kubernetes.io/cluster/{cluster}": "owned", kp.NODEPOOL: shape.name, "karpenter.sh/nodeclaim": claim, kp.NODECLASS: shape.node_class,
                "eks:eks-cluster-name": cluster, "Name": f"{shape.name}/{claim}", **{str(k): str(v) for k, v in ((node_class.get("spec") or {}).get("tags") or {}).items()}}
        kwargs: dict[str, Any] = dict(instance_type=itype, tags={"instance": tags}, placement=zone, is_instance_type_default=False, subnet_id=subnet)
        if ct == "spot":
            kwargs["instance_market_options"] = {"MarketType": "spot"}
        instance = ec2.run_instances(EKS_AMI, 1, "", [], **kwargs).instances[0]
        if ct == "spot":
            instance.lifecycle = "spot"
            attach_request(ec2, instance, zone)
        return instance

    def _launch_failed(self, name: str, types: list[str], zones: list[str]) -> None:
        message = f"creating nodeclaim, creating instance, insufficient capacity, all requested instance types were unavailable during launch ({len(types)} types in {', '.join(zones)})"
        claim = self.api.store.get(self.rts["NodeClaim"], "", name)
        if claim is not None:
            self._event(claim, "InsufficientCapacityError", f"NodeClaim {name} event: {message}", "Warning")
        log.error("failed launching nodeclaim", nodeclaim=name, error=message)
        self._delete_claim(name)

    def _delete_claim(self, name: str) -> None:
        try:
            self.api.delete(self.rts["NodeClaim"], "", name)
        except ApiError as exc:
            if exc.code != 404:
                raise

    # ---- a NodeClaim's life: registration, initialization, finalization -----------------------------------
    def _node_of_claim(self, claim: dict[str, Any]) -> dict[str, Any] | None:
        pid = (claim.get("status") or {}).get("providerID")
        if not pid:
            return None
        return next((n for n in self.api.store.iter(self.rts["Node"]) if (n.get("spec") or {}).get("providerID") == pid), None)

    def _reconcile_claim(self, name: str) -> None:
        claim = self.api.store.get(self.rts["NodeClaim"], "", name)
        if claim is None:
            return
        node = self._node_of_claim(claim)
        if claim["metadata"].get("deletionTimestamp"):
            self._finalize_claim(claim, node)
            return
        if node is None:
            return
        conds = {c["type"]: c.get("status") for c in (claim.get("status") or {}).get("conditions") or []}
        now = self.clock.isoformat()
        if conds.get("Registered") != "True":
            def register(n: dict[str, Any]) -> None:
                n["metadata"].setdefault("labels", {}).update({**(claim["metadata"].get("labels") or {}), "karpenter.sh/registered": "true"})
                finalizers = n["metadata"].setdefault("finalizers", [])
                if kp.TERMINATION_FINALIZER not in finalizers:
                    finalizers.append(kp.TERMINATION_FINALIZER)
                taints = [t for t in n["spec"].get("taints") or [] if t.get("key") != kp.UNREGISTERED_TAINT["key"]]
                have = {(t.get("key"), t.get("effect")) for t in taints}
                n["spec"]["taints"] = taints + [dict(t) for t in [*(claim["spec"].get("taints") or []), *(claim["spec"].get("startupTaints") or [])]
                                                if (t.get("key"), t.get("effect")) not in have]
                n["metadata"].setdefault("ownerReferences", [{"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim", "name": name,
                                                               "uid": claim["metadata"]["uid"], "blockOwnerDeletion": True}])

            def registered(c: dict[str, Any]) -> None:
                c["status"]["nodeName"] = node["metadata"]["name"]
                _condition(c, "Registered", "True", "Registered", "", now)

            self.api.mutate(self.rts["Node"], "", node["metadata"]["name"], register)
            self.api.mutate(self.rts["NodeClaim"], "", name, registered)
            log.info("registered nodeclaim", nodeclaim=name, node=node["metadata"]["name"], provider_id=claim["status"].get("providerID"))
        elif conds.get("Initialized") != "True" and is_ready(node):
            def label(n: dict[str, Any]) -> None:
                n["metadata"].setdefault("labels", {})["karpenter.sh/initialized"] = "true"

            self.api.mutate(self.rts["Node"], "", node["metadata"]["name"], label)

            def initialized(c: dict[str, Any]) -> None:
                _condition(c, "Initialized", "True", "Initialized", "", now)
                _condition(c, "Ready", "True", "Ready", "", now)

            self.api.mutate(self.rts["NodeClaim"], "", name, initialized)
            log.info("initialized nodeclaim", nodeclaim=name, node=node["metadata"]["name"], allocatable=claim["status"].get("allocatable"))

    def _finalize_claim(self, claim: dict[str, Any], node: dict[str, Any] | None) -> None:
        """The NodeClaim is being deleted: its Node first, then the instance, then the finalizer."""
        name = claim["metadata"]["name"]
        if kp.TERMINATION_FINALIZER not in claim["metadata"].get("finalizers") or []:
            return
        if node is not None:
            if not node["metadata"].get("deletionTimestamp"):
                self.api.delete(self.rts["Node"], "", node["metadata"]["name"])
            return
        iid = _instance_of(claim)
        if iid and self._terminate_instance(iid):
            self.api.mutate(self.rts["NodeClaim"], "", name, lambda c: _condition(c, "InstanceTerminating", "True", "InstanceTerminating", "", self.clock.isoformat()))
        self._drop_finalizer("NodeClaim", name)
        log.info("deleted nodeclaim", nodeclaim=name, provider_id=(claim.get("status") or {}).get("providerID"))

    def _terminate_instance(self, iid: str) -> bool:
        """Ends the instance if it still runs (EC2 TerminateInstances); True when it did."""
        assert self.ctx.moto is not None
        with self.ctx.moto.lock:
            inst = instance_by_id(self.region, iid)
            if inst is None or inst.state not in LIVE:
                return False
            backend("ec2", self.region).terminate_instances([iid])
        return True

    def _drop_finalizer(self, kind: str, name: str) -> None:
        def drop(o: dict[str, Any]) -> None:
            o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers") or [] if f != kp.TERMINATION_FINALIZER]

        self.api.mutate(self.rts[kind], "", name, drop)

    # ---- a Node's termination -----------------------------------------------------------------------------
    def _reconcile_node(self, name: str) -> None:
        node = self.api.store.get(self.rts["Node"], "", name)
        if node is None:
            claim = next((c for c in self._claims().values() if (c.get("status") or {}).get("nodeName") == name), None)
            if claim is not None:
                self.enqueue(("NodeClaim", claim["metadata"]["name"]))
            return
        claim = next((c for c in self._claims().values() if (c.get("status") or {}).get("providerID") == (node.get("spec") or {}).get("providerID")), None)
        if claim is not None and not node["metadata"].get("deletionTimestamp"):
            self.enqueue(("NodeClaim", claim["metadata"]["name"]))
            return
        if not node["metadata"].get("deletionTimestamp") or kp.TERMINATION_FINALIZER not in node["metadata"].get("finalizers") or []:
            return
        if claim is not None and not claim["metadata"].get("deletionTimestamp"):
            self._delete_claim(claim["metadata"]["name"])
        iid = _instance_of(node)
        if self._gone_unready(name, iid):
            self._drop_finalizer("Node", name)  # nothing left to drain: the instance is gone
            log.info("deleted node", node=name, reason="instance gone")
            return
        if name in self.draining:
            return
        self.draining.add(name)
        # the claim's terminationGracePeriod counts from its deletion (KC: the nodeclaim-termination-timestamp annotation)
        grace = kp.parse_duration((claim or {}).get("spec", {}).get("terminationGracePeriod") or "Never")
        deleted_at = (claim or {}).get("metadata", {}).get("deletionTimestamp")
        deadline = (datetime.fromisoformat(deleted_at).timestamp() if deleted_at else self.clock.timestamp()) + grace if grace is not None else None
        self.tasks.spawn(self._terminate_node(name, iid, deadline, (claim or {}).get("metadata", {}).get("name")))

    def _gone_unready(self, name: str, iid: str) -> bool:
        """KC's finalize shortcut: a node not Ready whose instance the cloud no longer has."""
        node = self.api.store.get(self.rts["Node"], "", name)
        if node is None or is_ready(node):
            return False
        assert self.ctx.moto is not None
        with self.ctx.moto.lock:
            inst = instance_by_id(self.region, iid)
            return inst is None or inst.state not in LIVE

    def _claim_condition(self, claim: str | None, kind: str, status: str, reason: str) -> None:
        if claim is not None:
            self.api.mutate(self.rts["NodeClaim"], "", claim, lambda c: _condition(c, kind, status, reason, "", self.clock.isoformat()))

    async def _terminate_node(self, name: str, iid: str, deadline: float | None, claim: str | None) -> None:
        def taint(n: dict[str, Any]) -> None:
            taints = n["spec"].setdefault("taints", [])
            if not any(t.get("key") == kp.DISRUPTED_TAINT["key"] for t in taints):
                taints.append({**kp.DISRUPTED_TAINT, "timeAdded": self.clock.isoformat()})
            n["metadata"].setdefault("labels", {})[kp.EXCLUDE_LB_LABEL] = "karpenter"

        try:
            node = self.api.mutate(self.rts["Node"], "", name, taint, manager="karpenter")
            if node is None:
                return
            log.info("tainted node", node=name, taint="karpenter.sh/disrupted:NoSchedule")
            self._claim_condition(claim, "Drained", "Unknown", "Draining")
            drain = asyncio.ensure_future(evict_pods(self.api, self.clock, name, deadline=float("inf") if deadline is None else deadline,
                                                     real_period=lambda s: max(MIN_REAL_PERIOD, self.clock.real_seconds(min(s, 1.0)))))
            try:
                while not drain.done():
                    await asyncio.wait([drain], timeout=max(MIN_REAL_PERIOD, self.clock.real_seconds(1.0)))
                    if not drain.done() and self._gone_unready(name, iid):
                        # the instance went and the node with it: nothing left to drain (its pods cannot end)
                        log.info("deleted node", node=name, instance=iid, reason="instance gone while draining")
                        self._drop_finalizer("Node", name)
                        return
            finally:
                drain.cancel()
            ok, problem = drain.result()
            if not ok:
                # terminationGracePeriod reached: the pods left are deleted, bypassing budgets
                for pod in self.api.store.list(self.rts["Pod"], None, lambda p: p.get("spec", {}).get("nodeName") == name and not kp.owned_by_daemonset(p)):
                    try:
                        self.api.delete(self.rts["Pod"], pod["metadata"]["namespace"], pod["metadata"]["name"], {"gracePeriodSeconds": 1})
                    except ApiError:
                        pass
                log.info("drain ended at the termination grace period", node=name, problem=problem)
            node = self.api.store.get(self.rts["Node"], "", name)
            if node is not None:
                self._event(node, "Drained", f"Drained node {name}")  # nodes_drained_total
            self._claim_condition(claim, "Drained", "True", "Drained")
            self._claim_condition(claim, "InstanceTerminating", "True", "InstanceTerminating")
            self._terminate_instance(iid)
            log.info("deleted node", node=name, instance=iid)
            self._drop_finalizer("Node", name)
        finally:
            self.draining.discard(name)

    # ---- interruption ------------------------------------------------------------------------------------
    def _sqs(self) -> Any:
        assert self.ctx.moto is not None
        return boto3.client("sqs", endpoint_url=self.ctx.moto.url, region_name=self.region,
                            aws_access_key_id="spotchaos-karpenter", aws_secret_access_key="spotchaos-karpenter")

    async def _queue_loop(self, cfg: KarpenterSettings) -> None:
        sqs = await asyncio.to_thread(self._sqs)
        url = None
        while url is None:
            try:
                url = (await asyncio.to_thread(sqs.get_queue_url, QueueName=cfg.interruption_queue))["QueueUrl"]
            except Exception as exc:
                log.error("karpenter_queue_not_found", queue=cfg.interruption_queue, error=str(exc))
                await self.clock.sleep_real(max(MIN_REAL_PERIOD, self.clock.real_seconds(10.0)))
        visibility = max(1, round(self.clock.real_seconds(VISIBILITY_TIMEOUT)))
        queue = url.rsplit("/", 1)[-1]
        while True:
            await self.clock.sleep_real(max(MIN_REAL_PERIOD, self.clock.real_seconds(QUEUE_POLL_SECONDS)))
            try:
                messages = await asyncio.to_thread(lambda: sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility, AttributeNames=["SentTimestamp"],
                    MessageAttributeNames=["All"]).get("Messages", []))
            except Exception as exc:
                log.warning("karpenter_sqs_receive_failed", queue=queue, error=str(exc))
                continue
            for message in messages:
                try:
                    parsed = kp.parse_message(message.get("Body", ""))
                except ValueError as exc:
                    log.error("failed parsing interruption message", queue=queue, error=str(exc))
                    await asyncio.to_thread(sqs.delete_message, QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    continue
                try:
                    self._handle(parsed)
                except Exception as exc:  # noqa: BLE001 - not deleted: the message comes back after its visibility timeout
                    log.error("karpenter_interruption_handling_failed", queue=queue, error=str(exc))
                    continue
                await asyncio.to_thread(sqs.delete_message, QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _handle(self, msg: kp.Message) -> None:
        if msg.kind == kp.Kind.NO_OP:
            return
        claims = {_instance_of(c): c for c in self._claims().values()}
        for iid in msg.instance_ids:
            claim = claims.get(iid)
            if claim is None:
                continue
            node = self._node_of_claim(claim)
            reason, type_, text = kp.EVENTS[msg.kind]
            for obj in (claim, node):
                if obj is not None:
                    self._event(obj, reason, text, type_)
            if msg.kind == kp.Kind.SPOT_INTERRUPTED:
                labels = claim["metadata"].get("labels") or {}
                self.unavailable[(labels.get(kp.INSTANCE_TYPE, ""), labels.get(kp.ZONE, ""), "spot")] = self.clock.timestamp() + kp.UNAVAILABLE_OFFERING_TTL
            if not kp.deletes_node_claim(msg.kind) or claim["metadata"].get("deletionTimestamp"):
                continue
            log.info("initiating delete from interruption message", nodeclaim=claim["metadata"]["name"], message_kind=str(msg.kind),
                     node=(node or {}).get("metadata", {}).get("name"))
            self._delete_claim(claim["metadata"]["name"])
            for obj, what in ((claim, "NodeClaim"), (node, "Node")):
                if obj is not None:
                    self._event(obj, "TerminatingOnInterruption", f"Interruption triggered termination for the {what}", "Warning")

    # ---- garbage collection and consolidation --------------------------------------------------------------
    def _garbage_collect(self) -> None:
        """NodeClaims whose instance is gone (reclaimed, terminated outside Karpenter) are deleted."""
        assert self.ctx.moto is not None
        with self.ctx.moto.lock:
            instances = instances_by_id(self.region)
        for claim in self._claims().values():
            iid = _instance_of(claim)
            inst = instances.get(iid) if iid else None
            if iid and (inst is None or inst.state not in LIVE) and not claim["metadata"].get("deletionTimestamp"):
                log.info("garbage collecting nodeclaim with no cloudprovider representation", nodeclaim=claim["metadata"]["name"], provider_id=claim["status"].get("providerID"))
                self._delete_claim(claim["metadata"]["name"])

    def _consolidate(self) -> None:
        """Karpenter's disruption controller, consolidation part: per NodePool that consolidates, a
        Ready claim's node that is empty (or, WhenEmptyOrUnderutilized, whose pods fit elsewhere) for
        consolidateAfter is deleted, within the pool's disruption budgets."""
        now = self.clock.timestamp()
        claims = list(self._claims().values())
        names = {c["metadata"]["name"] for c in claims}
        self.nominated_at = {k: t for k, t in self.nominated_at.items() if k in names}
        nodes = {n["metadata"]["name"]: n for n in self.api.store.iter(self.rts["Node"])}
        pods = [p for p in self.api.store.iter(self.rts["Pod"]) if (p.get("spec") or {}).get("nodeName") and not kp.owned_by_daemonset(p)
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        seen: set[str] = set()
        removed: set[str] = set()  # deleted in this pass: no room for another's pods
        for pool, _ in self._pools():
            if pool.consolidate_after is not None:
                self._consolidate_pool(pool, [c for c in claims if (c["metadata"].get("labels") or {}).get(kp.NODEPOOL) == pool.name], nodes, pods,
                                       seen, removed, now)
        for gone in [n for n in self.empty_since if n not in seen]:
            del self.empty_since[gone]

    def _consolidate_pool(self, pool: kp.PoolShape, mine: list[dict[str, Any]], nodes: dict[str, dict[str, Any]], pods: list[dict[str, Any]],
                          seen: set[str], removed: set[str], now: float) -> None:
        deleting = sum(1 for c in mine if c["metadata"].get("deletionTimestamp"))
        not_ready = sum(1 for c in mine if not is_ready(c) and not c["metadata"].get("deletionTimestamp"))
        for claim in mine:
            node_name = str((claim.get("status") or {}).get("nodeName") or "")
            node = nodes.get(node_name)
            if node is None or claim["metadata"].get("deletionTimestamp") or not is_ready(claim):
                continue
            if now - self.nominated_at.get(claim["metadata"]["name"], float("-inf")) < self._nomination_window():
                continue  # KC state: a node pods were nominated to is not disrupted within the nomination window
            seen.add(node_name)
            reason = self._consolidation_reason(pool, node_name, [p for p in pods if p["spec"]["nodeName"] == node_name], removed, nodes, now)
            if reason is None or kp.allowed_disruptions(pool.budgets, len(mine), deleting, not_ready, reason) <= 0:
                continue
            log.info("disrupting nodeclaim(s) via delete", reason=reason.lower(), nodeclaim=claim["metadata"]["name"], node=node_name)
            self._event(node, "DisruptionTerminating", f"Disrupting Node: {reason}/Delete")
            self._delete_claim(claim["metadata"]["name"])
            deleting += 1
            removed.add(node_name)
            self.empty_since.pop(node_name, None)

    def _nomination_window(self) -> float:
        """KC pkg/controllers/state/statenode.go nominationWindow: twice BATCH_MAX_DURATION, at least 10 s."""
        batch_max = kp.parse_duration(self.settings.batch_max_duration) if self.settings is not None else None
        return max(2 * (batch_max or 10.0), 10.0)

    def _consolidation_reason(self, pool: kp.PoolShape, node_name: str, on_node: list[dict[str, Any]], removed: set[str],
                              nodes: dict[str, dict[str, Any]], now: float) -> str | None:
        """Empty or Underutilized once the node has been so for consolidateAfter; None while it is
        not (or a pod on it says karpenter.sh/do-not-disrupt), which restarts its clock."""
        if not on_node:
            reason: str | None = "Empty"
        else:
            reason = "Underutilized" if pool.consolidation != "WhenEmpty" and self._fits_elsewhere(on_node, {node_name} | removed, nodes) else None
        if reason is None or any(p["metadata"].get("annotations", {}).get("karpenter.sh/do-not-disrupt") == "true" for p in on_node):
            self.empty_since.pop(node_name, None)
            return None
        since = self.empty_since.setdefault(node_name, now)
        assert pool.consolidate_after is not None
        return reason if now - since >= pool.consolidate_after else None

    def _room_on_nodes(self, nodes: dict[str, dict[str, Any]], leaving: set[str]) -> dict[str, NodeInfo]:
        """The Ready, schedulable nodes not leaving, with what their pods use."""
        infos = {n: NodeInfo.from_node(obj) for n, obj in nodes.items() if n not in leaving and is_ready(obj) and not obj["metadata"].get("deletionTimestamp")
                 and not (obj.get("spec") or {}).get("unschedulable")}
        for p in self.api.store.iter(self.rts["Pod"]):
            info = infos.get((p.get("spec") or {}).get("nodeName") or "")
            if info is not None and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                cpu, mem = pod_requests(p)
                info.used_cpu, info.used_mem = info.used_cpu + cpu, info.used_mem + mem
        return infos

    @staticmethod
    def _place(infos: dict[str, NodeInfo], pod: dict[str, Any]) -> bool:
        """Whether the pod fits one of the nodes; its requests are taken from that node's room."""
        cpu, mem = pod_requests(pod)
        spec = pod.get("spec") or {}
        target = next((i for i in infos.values() if i.alloc_cpu - i.used_cpu >= cpu and i.alloc_mem - i.used_mem >= mem
                       and node_selector_matches(spec, i.labels)
                       and all(tolerates(spec.get("tolerations") or [], t) for t in i.taints if t.get("effect") in ("NoSchedule", "NoExecute"))), None)
        if target is None:
            return False
        target.used_cpu, target.used_mem = target.used_cpu + cpu, target.used_mem + mem
        return True

    def _fits_elsewhere(self, on_node: list[dict[str, Any]], leaving: set[str], nodes: dict[str, dict[str, Any]]) -> bool:
        """Whether every pod of the node fits the room left on the other Ready, schedulable nodes (not `leaving`).
        A pod held to its place by a DoNotSchedule spread or a required pod anti-affinity is taken
        not to fit elsewhere: Karpenter simulates the scheduler with those constraints before it
        consolidates, and this simulator does not repeat that simulation here."""
        if any(kp.held_in_place(p) for p in on_node):
            return False
        infos = self._room_on_nodes(nodes, leaving)
        return all(self._place(infos, pod) for pod in sorted(on_node, key=lambda p: -pod_requests(p)[0]))
