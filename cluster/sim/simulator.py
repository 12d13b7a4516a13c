"""The simulator as one unit: clock, AWS (moto + what it lacks), the Kubernetes API and the
controllers, started and stopped together (an async context manager)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import TracebackType

import structlog
import yaml
from aiohttp import web

from cluster.endpoints import KUBECONFIG_FILE, Endpoints, process_start_ticks
from cluster.published_clock import CLOCK_FILE
from cluster.sim.addons.cluster_autoscaler import ClusterAutoscaler
from cluster.sim.addons.karpenter import Karpenter
from cluster.sim.addons.managed_node_groups import ManagedNodeGroups
from cluster.sim.addons.nth import NodeTerminationHandler
from cluster.sim.address_lease import AddressLease, lease_addresses
from cluster.sim.alb.controller import LoadBalancerController
from cluster.sim.alb.proxy import AlbProxy
from cluster.sim.alb.runtime import AlbRuntime
from cluster.sim.aws import access_keys, ec2_lookups, ec2_tags, eks_nodegroups
from cluster.sim.aws.autoscaling import AutoScalingSim
from cluster.sim.aws.capacity_pools import CapacityPools
from cluster.sim.aws.moto_patches import MotoPatches
from cluster.sim.aws.moto_server import MotoServer, reset_backends
from cluster.sim.aws.spot_requests import refuse_stopping_one_time_spot
from cluster.sim.clock import SimClock
from cluster.sim.clock_publisher import ClockPublisher
from cluster.sim.config import SimConfig
from cluster.sim.control import ControlApi
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.compaction import Compaction
from cluster.sim.controllers.daemonset import DaemonSetController
from cluster.sim.controllers.deployment import DeploymentController
from cluster.sim.controllers.disruption import DisruptionController
from cluster.sim.controllers.ec2_nodes import Ec2Nodes
from cluster.sim.controllers.endpoints import EndpointsController
from cluster.sim.controllers.event_expiry import EventExpiry
from cluster.sim.controllers.garbage_collector import GarbageCollector
from cluster.sim.controllers.hpa import HorizontalPodAutoscalers
from cluster.sim.controllers.instance_expiry import InstanceExpiry
from cluster.sim.controllers.job import JobController
from cluster.sim.controllers.kubelet import Kubelets
from cluster.sim.controllers.node_lifecycle import NodeLifecycle
from cluster.sim.controllers.replicaset import ReplicaSetController
from cluster.sim.controllers.scheduler import Scheduler
from cluster.sim.controllers.service_accounts import ServiceAccounts
from cluster.sim.controllers.statefulset import StatefulSetController
from cluster.sim.controllers.taint_eviction import TaintEviction
from cluster.sim.harness_pods import HarnessPods
from cluster.sim.kube.api import KubeApi
from cluster.sim.kube.server import KubeHttp
from cluster.sim.kube.store import ObjectStore
from cluster.sim.kube_proxy import KubeProxy
from cluster.sim.parts import Parts
from cluster.sim.serving.cpu import CpuModel
from cluster.sim.serving.pods import ServingPods
from cluster.sim.serving.prober import ReadinessProber
from cluster.sim.serving.standins import StandinPods
from cluster.sim.spot.eventbridge import Ec2Events
from cluster.sim.spot.fis import FisRunner
from cluster.sim.spot.interruptions import Interruptions
from cluster.sim.spot.metadata_service import MetadataService
from cluster.sim.tasks import TaskGroup

log = structlog.get_logger("sim")

CONTEXT_NAME = "spotchaos-local"
PART_STOP_SECONDS = 3.0  # each part's stop; the whole stop has the runner's 15 s
INFO_CONFIGMAP = ("kube-system", "spotchaos-sim")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def kubeconfig_text(server: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": server}}],
        "users": [{"name": CONTEXT_NAME, "user": {}}],
        "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME, "namespace": "default"}}],
        "current-context": CONTEXT_NAME,
        "preferences": {},
    }, sort_keys=False)


class Simulator:
    """A local Spot EKS: `async with Simulator(config, state_dir) as sim: sim.endpoints ...`."""

    def __init__(self, config: SimConfig, state_dir: Path | None = None) -> None:
        self.config = config
        self.state_dir = state_dir
        self.clock = SimClock(config.start_speed)
        self.store = ObjectStore(config.watch_history)
        self.api = KubeApi(self.store, self.clock)
        self.moto = MotoServer()
        pools = CapacityPools(config.default_pool_spare)
        for p in config.pools:
            pools.set(p.instance_type, p.availability_zone, p.spare)
        self.autoscaling = AutoScalingSim(self.clock, config.region, pools)
        self.ctx = SimContext(self.clock, self.api, config, self.moto, self.autoscaling)
        self.tasks = TaskGroup()
        self.parts = Parts(PART_STOP_SECONDS)  # what start started, in order: stop stops it in reverse
        self.patches = MotoPatches()  # what the simulator changed in moto, restored at the stop
        self.controllers: list[Controller] = []
        self.kubelets: Kubelets | None = None
        self.serving: ServingPods | None = None
        self.standins: StandinPods | None = None
        self.harness_pods: HarnessPods | None = None
        self.managed_groups: ManagedNodeGroups | None = None
        self.prober: ReadinessProber | None = None
        self.alb: AlbRuntime | None = None
        self.alb_proxy: AlbProxy | None = None
        self.lbc: LoadBalancerController | None = None
        self.kube_proxy: KubeProxy | None = None
        self.metadata: MetadataService | None = None
        self.interruptions: Interruptions | None = None
        self.fis: FisRunner | None = None
        self.control: ControlApi | None = None
        self.nth: NodeTerminationHandler | None = None
        self.cluster_autoscaler: ClusterAutoscaler | None = None
        self.karpenter: Karpenter | None = None
        self.hpa: HorizontalPodAutoscalers | None = None
        self._runner: web.AppRunner | None = None
        self.kube_url = ""
        self.endpoints: Endpoints | None = None
        self.lease: AddressLease | None = None
        self.clock_publisher: ClockPublisher | None = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    def _bootstrap(self) -> None:
        ns_rt = self.api.rt("Namespace")
        for ns in SYSTEM_NAMESPACES:
            self.api.create(ns_rt, "", {"metadata": {"name": ns}})
        self.api.create(self.api.rt("ConfigMap"), INFO_CONFIGMAP[0], {
            "metadata": {"name": INFO_CONFIGMAP[1], "labels": {"app.kubernetes.io/managed-by": "spotchaos"}},
            "data": {
                "clockSpeed": str(self.config.start_speed),
                "clockSpeedAdjustable": str(self.config.speed_adjustable).lower(),
                "clockStart": self.clock.isoformat(),
                "clockStartUnix": f"{self.clock.start_timestamp:.6f}",
                "region": self.config.region,
                "clusterName": self.config.cluster_name or "",
                "simulator": "spotchaos",
            },
        })

    async def start(self) -> None:
        # the address ranges first, before anything binds: another simulator on the machine may hold some
        self.lease = lease_addresses(self.config.node_address_octet, self.config.node_address_span, self.config.lb_address_octet)
        self.parts.add_stop("address lease", self.lease.release)  # released last: after everything that bound an address
        ranges = self.lease.ranges
        self.config = self.ctx.config = self.config.model_copy(update={"node_address_octet": ranges.node_octet, "lb_address_octet": ranges.lb_octet})
        log.info("addresses_leased", ranges=ranges.describe())
        reset_backends()
        self.autoscaling.install(self.patches)
        refuse_stopping_one_time_spot(self.patches)
        ec2_tags.install(self.patches)
        access_keys.install(self.patches, self.config.region)
        ec2_lookups.install(self.patches)
        eks_nodegroups.install(self.patches, self.autoscaling)
        self.moto.start()
        self.parts.add_stop("moto", self.moto.stop)
        self.parts.add_stop("moto patches", self.patches.restore)  # put back once nothing calls moto any more
        self._bootstrap()
        # the clock is kept (and published) from here on: it stands still while the loop is starved
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        self.clock_publisher = ClockPublisher(self.clock, self.api, INFO_CONFIGMAP, self.state_dir / CLOCK_FILE if self.state_dir else None)
        self.parts.add_stop("clock file", self.clock_publisher.close)
        self.tasks.spawn("clock", self.clock.keep())
        http = KubeHttp(self.api, self.config.bookmark_interval)
        self._runner = web.AppRunner(http.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        self.parts.add_stop("kube-apiserver", self._runner.cleanup)
        self.parts.add_stop("watches", self.store.close_watches)  # ended before the server's cleanup waits for them
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.kube_url = f"http://127.0.0.1:{port}"

        ctx = self.ctx
        kubelets = Kubelets(ctx)
        lifecycle = NodeLifecycle(ctx, kubelets)
        self.kubelets = kubelets
        # data plane: serving pods, readiness probes, kube-proxy NodePorts, LBC + ALB
        parts = self.parts
        self.serving = parts.add(ServingPods(ctx, kubelets))
        self.standins = parts.add(StandinPods(ctx, kubelets))
        self.harness_pods = parts.add(HarnessPods(ctx, kubelets))
        self.prober = parts.add(ReadinessProber(ctx, kubelets))
        self.alb = AlbRuntime(self.clock, self.moto.lock, lambda tid: kubelets.loopback_of_instance(tid) if tid.startswith("i-") else tid)
        self.alb.install(asyncio.get_running_loop(), self.patches)
        parts.add(self.alb)
        self.kube_proxy = parts.add(KubeProxy(ctx, kubelets))
        self.alb_proxy = parts.add(AlbProxy(self.alb, self.config.alb.connect_timeout, self.config.alb.idle_timeout, dial=self.kube_proxy.dial))
        self.lbc = parts.add(LoadBalancerController(ctx, self.alb, self.alb_proxy))
        # Spot: per-instance metadata, the interruption engine, FIS execution, the control API
        self.metadata = MetadataService(self.clock, kubelets, self.config.region, self.config.imds.port, self.moto.lock)
        await self.metadata.start()
        parts.add(self.metadata)
        self.ec2_events = Ec2Events()  # this simulator's: EKS's managed node groups subscribe to it
        self.interruptions = Interruptions(self.clock, self.config.region, self.moto.lock, self.autoscaling, self.metadata, self.ec2_events)
        self.fis = FisRunner(self.clock, self.config.region, self.moto.lock, self.autoscaling, self.interruptions)
        self.fis.install(asyncio.get_running_loop(), self.patches)
        self.control = ControlApi(kubelets, self.metadata, self.interruptions, self.clock, self.config.speed_adjustable)
        await self.control.start()
        parts.add(self.control)
        # add-ons that act when their manifests are applied
        self.nth = parts.add(NodeTerminationHandler(ctx, self.config.imds.port, self.metadata))
        self.cluster_autoscaler = parts.add(ClusterAutoscaler(ctx))
        self.karpenter = parts.add(Karpenter(ctx))
        self.hpa = HorizontalPodAutoscalers(ctx, CpuModel(self.serving, self.config.serving))
        self.managed_groups = parts.add(ManagedNodeGroups(ctx, self.ec2_events))  # the EKS service's side: no manifest in the cluster
        self.controllers = [
            ReplicaSetController(ctx), DeploymentController(ctx), DaemonSetController(ctx), StatefulSetController(ctx), JobController(ctx), Scheduler(ctx),
            kubelets, lifecycle, Ec2Nodes(ctx, kubelets, lifecycle), GarbageCollector(ctx), DisruptionController(ctx), TaintEviction(ctx), EventExpiry(ctx), InstanceExpiry(ctx), Compaction(ctx), ServiceAccounts(ctx),
            EndpointsController(ctx), self.kube_proxy, self.lbc, self.nth, self.cluster_autoscaler, self.karpenter, self.hpa,
        ]
        for c in self.controllers:
            self.store.add_listener(c.on_event)
            self.tasks.spawn(c.name, c.run())
        # the controllers' loops (and the clock's) stop first: nothing reconciles while the parts stop
        parts.add_stop("controllers", lambda: self.tasks.stop(timeout=PART_STOP_SECONDS - 0.5))

        kubeconfig = ""
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            path = self.state_dir / KUBECONFIG_FILE
            path.write_text(kubeconfig_text(self.kube_url))
            kubeconfig = str(path)
        self.endpoints = Endpoints(
            target="local",
            aws_endpoint_url=self.moto.url,
            region=self.config.region,
            kubeconfig=kubeconfig,
            kube_context=CONTEXT_NAME,
            clock_speed=self.config.start_speed,
            kube_api_url=self.kube_url,
            pid=os.getpid(),
            extra={"control_url": self.control.url, "metadata_port": str(self.config.imds.port), "pid_start_ticks": str(process_start_ticks(os.getpid())),
                   "addresses": ranges.describe(), **({"clock_file": str(self.state_dir / CLOCK_FILE)} if self.state_dir else {})},
        )
        if self.state_dir is not None:
            self.endpoints.write(self.state_dir)
        log.info("simulator_started", kube_api=self.kube_url, aws=self.moto.url, speed=self.config.speed, region=self.config.region)

    async def stop(self) -> None:
        """Every part in reverse order of starting, each bounded (PART_STOP_SECONDS); one that hangs
        is named in the log and the rest still stop (the runner's deadline for the whole stop is
        STOP_DEADLINE_SECONDS)."""
        if self.state_dir is not None:
            (self.state_dir / "endpoints.json").unlink(missing_ok=True)
        await self.parts.stop()
        log.info("simulator_stopped", failures=self.tasks.failures, slow_to_stop=self.parts.slow, failed_to_stop=self.parts.failed)
