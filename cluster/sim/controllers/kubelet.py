"""A kubelet per node: registers the Node, starts and readies pods, stops them gracefully
(preStop, grace period), and goes silent with everything on it when its instance dies."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from cluster.instance_types import allocatable, lookup
from cluster.pod_lifecycle import readiness_delay, stop_seconds
from cluster.quantities import format_bytes_ki, format_millicores
from cluster.sim.address_plan import NODE_OCTETS
from cluster.sim.clock import ClockTimer
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.kube.store import StoredEvent
from cluster.sim.kube.version import KUBE_VERSION

log = structlog.get_logger("sim.kubelet")

NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
LOOPBACK_ANNOTATION = "sim.spotchaos.io/loopback-address"


@dataclass(frozen=True)
class InstanceInfo:
    """What the EKS bootstrap learns about the instance it runs on."""

    instance_id: str
    instance_type: str
    az: str
    region: str
    private_dns: str
    private_ip: str
    spot: bool
    nodegroup: str
    labels: dict[str, str]
    taints: list[dict[str, str]]
    eks_labels: bool = True  # the EKS node-group labels (capacityType, nodegroup); Karpenter's nodes carry its own


@dataclass
class NodeAgent:
    name: str
    instance: InstanceInfo
    index: int
    octet: int = 16  # first second-octet of the simulator's node address range
    alive: bool = True
    registered: bool = False
    dead_at: float | None = None
    timers: list[ClockTimer] = field(default_factory=list)
    free_ips: list[int] = field(default_factory=lambda: list(range(254, 1, -1)))
    pod_ips: dict[tuple[str, str], int] = field(default_factory=dict)
    stopping: set[tuple[str, str]] = field(default_factory=set)
    unschedulable: bool = False  # spec.unschedulable as this kubelet last reported it

    @property
    def subnet(self) -> str:
        return f"127.{self.octet + self.index // 256}.{self.index % 256}"

    @property
    def loopback(self) -> str:
        return f"{self.subnet}.1"

    def cancel(self) -> None:
        for t in self.timers:
            t.cancel()
        self.timers.clear()


PodListener = Callable[[str, dict[str, Any]], None]
NodeListener = Callable[[str, NodeAgent], None]
Prober = Callable[[dict[str, Any]], bool]


class Kubelets(Controller):
    """All kubelets of the cluster, driven by pod events; one NodeAgent each."""

    name = "kubelet"
    kinds = ("Pod",)
    resync = 10.0

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.pod_rt = ctx.api.rt("Pod")
        self.node_rt = ctx.api.rt("Node")
        self.agents: dict[str, NodeAgent] = {}
        self._next_index = 0
        self._free_indexes: list[int] = []
        self.pod_listeners: list[PodListener] = []  # data plane hooks: "started", "ready", "stopping", "stopped", "lost"
        self.node_listeners: list[NodeListener] = []  # "booted" (instance running), "up" (node Ready), "down" (instance gone)
        # pods whose containers are real processes: on deletion they end when their processes exit
        # (`process_ended`), or at the end of the grace period, not after the modelled stop time
        self.process_pods: list[Callable[[tuple[str, str]], bool]] = []
        self.probers: list[Prober] = []  # take over a started pod's readiness probe (True: taken)

    def _notify(self, what: str, pod: dict[str, Any]) -> None:
        for listener in self.pod_listeners:
            try:
                listener(what, pod)
            except Exception:
                log.exception("pod_listener_failed", what=what)

    def _notify_node(self, what: str, agent: NodeAgent) -> None:
        for listener in self.node_listeners:
            try:
                listener(what, agent)
            except Exception:
                log.exception("node_listener_failed", what=what)

    # ---- node registration -------------------------------------------------------------
    def boot(self, info: InstanceInfo) -> NodeAgent:
        """The instance is running: the kubelet registers after the boot delay."""
        index = self._free_indexes.pop() if self._free_indexes else self._next_index
        if index == self._next_index:
            self._next_index += 1
        # the simulator leases its range before anything boots; parts run alone (tests) take the first
        agent = NodeAgent(info.private_dns, info, index, self.ctx.config.node_address_octet or NODE_OCTETS.start)
        self.agents[agent.name] = agent
        t = self.ctx.config.timings
        agent.timers.append(self.clock.call_later(t.instance_boot, self._register, agent))
        self._notify_node("booted", agent)
        return agent

    def _register(self, agent: NodeAgent) -> None:
        if not agent.alive:
            return
        info = agent.instance
        itype = lookup(info.instance_type)
        cpu_m, mem_b = allocatable(itype)
        labels = {
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": agent.name,
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": info.instance_type,
            "node.kubernetes.io/instance-type": info.instance_type,
            "topology.kubernetes.io/region": info.region,
            "topology.kubernetes.io/zone": info.az,
            "failure-domain.beta.kubernetes.io/region": info.region,
            "failure-domain.beta.kubernetes.io/zone": info.az,
        }
        if info.eks_labels:
            labels |= {"eks.amazonaws.com/capacityType": "SPOT" if info.spot else "ON_DEMAND", "eks.amazonaws.com/nodegroup": info.nodegroup}
        labels.update(info.labels)
        now = self.clock.isoformat()
        cond = lambda t, s, r, m: {"type": t, "status": s, "reason": r, "message": m, "lastHeartbeatTime": now, "lastTransitionTime": now}  # noqa: E731
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": agent.name,
                "labels": labels,
                "annotations": {
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                    LOOPBACK_ANNOTATION: agent.loopback,
                },
            },
            "spec": {
                "providerID": f"aws:///{info.az}/{info.instance_id}",
                "podCIDR": f"{agent.subnet}.0/24",
                "podCIDRs": [f"{agent.subnet}.0/24"],
                "taints": list(info.taints) + [dict(NOT_READY_TAINT)],
            },
            "status": {
                "capacity": {"cpu": str(itype.vcpus), "memory": f"{itype.memory_mib * 1024}Ki", "pods": str(itype.max_pods), "ephemeral-storage": "20959212Ki"},
                "allocatable": {"cpu": format_millicores(cpu_m), "memory": format_bytes_ki(mem_b), "pods": str(itype.max_pods), "ephemeral-storage": "18242267924"},
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    cond("Ready", "False", "KubeletNotReady", "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady"),
                ],
                "addresses": [
                    {"type": "InternalIP", "address": info.private_ip},
                    {"type": "Hostname", "address": agent.name},
                    {"type": "InternalDNS", "address": agent.name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": info.instance_id.replace("i-", "ec2"),
                    "systemUUID": info.instance_id,
                    "bootID": info.instance_id,
                    "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                    "osImage": "Amazon Linux 2023.6.20241010",
                    "containerRuntimeVersion": "containerd://1.7.22",
                    "kubeletVersion": KUBE_VERSION["gitVersion"],
                    "kubeProxyVersion": KUBE_VERSION["gitVersion"],
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        }
        try:
            created = self.api.create(self.node_rt, "", node)
        except Exception:
            log.exception("node_register_failed", node=agent.name)
            return
        agent.registered = True
        self.ctx.recorder("kubelet", agent.name).record(created, "Starting", "Starting kubelet.")
        self.ctx.recorder("node-controller").record(created, "RegisteredNode", f"Node {agent.name} event: Registered Node {agent.name} in Controller")
        agent.timers.append(self.clock.call_later(self.ctx.config.timings.node_ready, self._ready, agent))
        log.info("node_registered", node=agent.name, instance=info.instance_id, instance_type=info.instance_type, az=info.az, spot=info.spot)

    def _ready(self, agent: NodeAgent) -> None:
        if not agent.alive:
            return
        now = self.clock.isoformat()

        def change(n: dict[str, Any]) -> None:
            for c in n["status"]["conditions"]:
                if c["type"] == "Ready":
                    c.update(status="True", reason="KubeletReady", message="kubelet is posting ready status", lastHeartbeatTime=now, lastTransitionTime=now)
            n["spec"]["taints"] = [t for t in n["spec"].get("taints") or [] if t.get("key") != NOT_READY_TAINT["key"]]

        node = self.api.mutate(self.node_rt, "", agent.name, change)
        if node is not None:
            self.ctx.recorder("kubelet", agent.name).record(node, "NodeReady", f"Node {agent.name} status is now: NodeReady")
        self._notify_node("up", agent)
        for pod in self.api.store.list(self.pod_rt, None, lambda p: p.get("spec", {}).get("nodeName") == agent.name):
            self.enqueue((pod["metadata"]["namespace"], pod["metadata"]["name"]))

    def kill(self, node_name: str) -> None:
        """The instance is gone: the kubelet and every container on it stop at once, without a word."""
        agent = self.agents.get(node_name)
        if agent is None or not agent.alive:
            return
        agent.alive = False
        agent.dead_at = self.clock.timestamp()
        agent.cancel()
        for pod in self.api.store.list(self.pod_rt, None, lambda p: p.get("spec", {}).get("nodeName") == node_name):
            self._notify("lost", pod)
        self._notify_node("down", agent)
        log.info("kubelet_stopped", node=node_name, reason="instance gone")

    def loopback_of_instance(self, instance_id: str) -> str | None:
        """The node address of a live instance (where its NodePorts listen)."""
        for agent in self.agents.values():
            if agent.instance.instance_id == instance_id:
                return agent.loopback if agent.alive else None
        return None

    def forget(self, node_name: str) -> None:
        agent = self.agents.pop(node_name, None)
        if agent is not None:
            agent.cancel()
            self._free_indexes.append(agent.index)

    def tick(self) -> None:
        """Every node status update (nodeStatusUpdateFrequency, 10 s): the kubelet's
        recordNodeSchedulableEvent, NodeNotSchedulable or NodeSchedulable when the node's
        spec.unschedulable changed (a cordon, an uncordon)."""
        for agent in self.agents.values():
            agent.timers = [t for t in agent.timers if not t.done()]
            if not (agent.alive and agent.registered):
                continue
            node = self.api.store.get(self.node_rt, "", agent.name)
            unschedulable = bool(((node or {}).get("spec") or {}).get("unschedulable"))
            if node is not None and unschedulable != agent.unschedulable:
                agent.unschedulable = unschedulable
                status = "NodeNotSchedulable" if unschedulable else "NodeSchedulable"
                self.ctx.recorder("kubelet", agent.name).record(node, status, f"Node {agent.name} status is now: {status}")

    # ---- pods ----------------------------------------------------------------------------
    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.type == "DELETED":
            node = ev.obj.get("spec", {}).get("nodeName")
            agent = self.agents.get(node) if node else None
            if agent is not None:
                key = (ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])
                ip = agent.pod_ips.pop(key, None)
                if ip is not None:
                    agent.free_ips.insert(0, ip)  # reused last, as the VPC CNI cools addresses down
                agent.stopping.discard(key)
                if agent.alive:
                    self._notify("stopped", ev.obj)
            return []
        if ev.obj.get("spec", {}).get("nodeName") in self.agents:
            return [(ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"])]
        return []

    def all_keys(self) -> Iterable[Hashable]:
        return [
            (p["metadata"]["namespace"], p["metadata"]["name"])
            for p in self.api.store.iter(self.pod_rt)
            if p.get("spec", {}).get("nodeName") in self.agents
        ]

    def reconcile(self, key: Hashable) -> None:
        ns, name = key  # type: ignore[misc]
        pod = self.api.store.get(self.pod_rt, ns, name)
        if pod is None:
            return
        agent = self.agents.get(pod["spec"].get("nodeName", ""))
        if agent is None or not agent.alive or not agent.registered:
            return
        if pod["metadata"].get("deletionTimestamp"):
            self._begin_stop(agent, pod)
            return
        status = pod.get("status", {})
        if status.get("phase") == "Pending" and not status.get("startTime"):
            self._accept(agent, pod)

    def _accept(self, agent: NodeAgent, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if key in agent.pod_ips:
            return
        ip = agent.free_ips.pop() if agent.free_ips else 254
        agent.pod_ips[key] = ip
        now = self.clock.isoformat()

        def accepted(p: dict[str, Any]) -> None:
            p["status"]["startTime"] = now
            p["status"]["hostIP"] = agent.instance.private_ip
            p["status"]["hostIPs"] = [{"ip": agent.instance.private_ip}]

        self.api.mutate(self.pod_rt, key[0], key[1], accepted)
        rec = self.ctx.recorder("kubelet", agent.name)
        for c in pod["spec"].get("containers") or []:
            rec.record(pod, "Pulled", f'Container image "{c.get("image")}" already present on machine')
        agent.timers.append(self.clock.call_later(self.ctx.config.timings.pod_start, self._start, agent, key))

    def _start(self, agent: NodeAgent, key: tuple[str, str]) -> None:
        pod = self.api.store.get(self.pod_rt, *key)
        if pod is None or not agent.alive or pod["metadata"].get("deletionTimestamp"):
            return
        now = self.clock.isoformat()
        ip = f"{agent.subnet}.{agent.pod_ips.get(key, 254)}"
        containers = pod["spec"].get("containers") or []
        ready_after = max((readiness_delay(c) for c in containers), default=0.0)
        has_probe = any(c.get("readinessProbe") for c in containers)
        ready_now = not has_probe

        def running(p: dict[str, Any]) -> None:
            st = p["status"]
            st["phase"] = "Running"
            st["podIP"] = ip
            st["podIPs"] = [{"ip": ip}]
            flag = "True" if ready_now else "False"
            st["conditions"] = [c for c in st.get("conditions") or [] if c["type"] == "PodScheduled"] + [
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
                {"type": "Ready", "status": flag, "lastProbeTime": None, "lastTransitionTime": now},
                {"type": "ContainersReady", "status": flag, "lastProbeTime": None, "lastTransitionTime": now},
            ]
            st["containerStatuses"] = [
                {
                    "name": c["name"], "image": c.get("image"), "imageID": f"{c.get('image')}@sha256:" + "0" * 64,
                    "containerID": f"containerd://{abs(hash((key, c['name']))):064x}"[:77], "ready": ready_now, "started": True,
                    "restartCount": 0, "state": {"running": {"startedAt": now}},
                }
                for c in containers
            ]

        started = self.api.mutate(self.pod_rt, key[0], key[1], running)
        if started is None:
            return
        rec = self.ctx.recorder("kubelet", agent.name)
        for c in containers:
            rec.record(started, "Created", f"Created container {c['name']}")
            rec.record(started, "Started", f"Started container {c['name']}")
        self._notify("started", started)
        if ready_now:
            self._notify("ready", started)
        elif any(probe(started) for probe in self.probers):
            return
        else:
            agent.timers.append(self.clock.call_later(ready_after, self._mark_ready, agent, key))

    def _mark_ready(self, agent: NodeAgent, key: tuple[str, str]) -> None:
        pod = self.api.store.get(self.pod_rt, *key)
        if pod is None or not agent.alive or pod["metadata"].get("deletionTimestamp"):
            return
        self.set_ready(key, True)

    def set_ready(self, key: tuple[str, str], ready: bool) -> None:
        """Readiness as the kubelet's prober reports it."""
        now = self.clock.isoformat()
        flag = "True" if ready else "False"

        def change(p: dict[str, Any]) -> bool | None:
            st = p.get("status", {})
            if st.get("phase") != "Running":
                return False
            for c in st.get("conditions") or []:
                if c["type"] in ("Ready", "ContainersReady") and c["status"] != flag:
                    c["status"] = flag
                    c["lastTransitionTime"] = now
            for cs in st.get("containerStatuses") or []:
                cs["ready"] = ready
            return None

        pod = self.api.mutate(self.pod_rt, key[0], key[1], change)
        if pod is not None:
            self._notify("ready" if ready else "unready", pod)

    def exited(self, key: tuple[str, str], container: str, exit_code: int) -> None:
        """A container's process ended (the containers that run as processes: harness pods).  Once
        every container has ended, a pod whose restartPolicy is Never or OnFailure is Succeeded
        (all exited 0) or Failed, as the kubelet sets the phase; a restartPolicy Always pod stays
        Running, unready (the simulator does not restart containers).  A dead node's kubelet
        reports nothing."""
        pod = self.api.store.get(self.pod_rt, *key)
        agent = self.agents.get((pod or {}).get("spec", {}).get("nodeName", ""))
        if pod is None or agent is None or not agent.alive:
            return
        now = self.clock.isoformat()

        def change(p: dict[str, Any]) -> bool | None:
            st = p.get("status") or {}
            if st.get("phase") != "Running":
                return False
            for cs in st.get("containerStatuses") or []:
                if cs["name"] == container:
                    started = (cs.get("state") or {}).get("running", {}).get("startedAt", now)
                    cs["state"] = {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                                                  "startedAt": started, "finishedAt": now, "containerID": cs.get("containerID")}}
                    cs["ready"], cs["started"] = False, False
            ended = [cs for cs in st.get("containerStatuses") or [] if "terminated" in (cs.get("state") or {})]
            for c in st.get("conditions") or []:
                if c["type"] in ("Ready", "ContainersReady") and c["status"] != "False":
                    c["status"], c["lastTransitionTime"] = "False", now
                    if len(ended) == len(st.get("containerStatuses") or []):
                        c["reason"] = "PodCompleted"
            if len(ended) == len(st.get("containerStatuses") or []) and p["spec"].get("restartPolicy", "Always") != "Always":
                st["phase"] = "Succeeded" if all(cs["state"]["terminated"]["exitCode"] == 0 for cs in ended) else "Failed"
            return None

        pod = self.api.mutate(self.pod_rt, key[0], key[1], change)
        if pod is not None:
            self._notify("unready", pod)

    def _begin_stop(self, agent: NodeAgent, pod: dict[str, Any]) -> None:
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if key in agent.stopping:
            return
        agent.stopping.add(key)
        grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
        rec = self.ctx.recorder("kubelet", agent.name)
        for c in pod["spec"].get("containers") or []:
            rec.record(pod, "Killing", f"Stopping container {c['name']}")
        self._notify("stopping", pod)
        if pod.get("status", {}).get("phase") != "Running":
            delay = 0.0
        elif any(owns(key) for owns in self.process_pods):
            delay = grace  # SIGKILL then; `process_ended` comes first when the process honours SIGTERM
        else:
            delay = stop_seconds(pod, grace)
        agent.timers.append(self.clock.call_later(delay, self._stopped, agent, key))

    def process_ended(self, key: tuple[str, str]) -> None:
        """A stopping pod's processes have all exited: its deletion completes now."""
        pod = self.api.store.get(self.pod_rt, *key)
        agent = self.agents.get((pod or {}).get("spec", {}).get("nodeName", ""))
        if pod is not None and agent is not None and key in agent.stopping:
            self._stopped(agent, key)

    def _stopped(self, agent: NodeAgent, key: tuple[str, str]) -> None:
        if not agent.alive:
            return
        self.api.finish_pod_deletion(*key)
