"""aws-node-termination-handler as the simulator runs it: found by image in a DaemonSet (IMDS
mode) or Deployment (queue-processor mode), configured only by its container's env vars, active
only while its pods run.  IMDS mode polls each node's metadata over HTTP every 2 s; queue mode
reads the SQS queue through the real AWS API.  Drains go through the Eviction API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import boto3
import structlog

from cluster.components.nth import (
    DEFAULT_METADATA_URL,
    IMAGE_MARK,
    NthConfig,
    container_env,
    event_annotations,
    parse_env,
)
from cluster.sim.addons import nth_events as ne
from cluster.sim.addons.drain import evict_pods
from cluster.sim.addons.workloads import AddonWorkloads, log_target
from cluster.sim.aws.moto_server import ACCOUNT_ID
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.kubelet import LOOPBACK_ANNOTATION
from cluster.sim.kube.store import StoredEvent
from cluster.sim.spot.metadata_service import MetadataService

log = structlog.get_logger("sim.nth")

POLL_SECONDS = 2.0  # NTH's monitor tick
QUEUE_POLL_SECONDS = 1.0  # stands in for the 20 s long poll, which returns as soon as a message arrives
MIN_REAL_PERIOD = 0.05
# NTH's metadata poll (2 s, three GETs) on every node is the simulator's busiest control-plane loop:
# its HTTP round is floored at this many real seconds, so 22 nodes make ~130 requests/s at any
# speed.  NTH still looks every 2 cluster seconds: a look at the simulator's own metadata in process
# (is there a notice on this instance?) starts the HTTP round at once, so a notice is read over HTTP
# within 2 cluster seconds at any speed, as by the real NTH.  A metadata URL of the user's own (a
# real amazon-ec2-metadata-mock) is polled over HTTP only, at the floor.
MIN_IMDS_POLL_REAL = 0.5
VISIBILITY_TIMEOUT = 20.0
TOKEN_TTL = 3600
COMPONENT = "aws-node-termination-handler"
MANAGER = "node-termination-handler"  # its field manager: the binary's name, client-go's default user agent


async def _get(http: aiohttp.ClientSession, base: str, path: str, headers: dict[str, str]) -> str | None:
    """One metadata read: the text on 200, None on 404; 401 means the token must be renewed."""
    async with http.get(f"{base}/latest/meta-data/{path}", headers=headers) as r:
        if r.status == 401:
            raise PermissionError("401 from IMDS")
        return await r.text() if r.status == 200 else None


def _zerolog_value(v: Any) -> str:
    """A field's value as zerolog's console writer prints it: bare when it needs no quotes."""
    text = str(v)
    if text[:1] in "{[":  # an object (zerolog's Interface) prints as its JSON
        return text
    return text if text and not any(ch in text for ch in ' "=') else json.dumps(text)


class NodeTerminationHandler(Controller):
    name = "aws-node-termination-handler"
    kinds = ("DaemonSet", "Deployment", "Pod")
    resync = 2.0

    def __init__(self, ctx: SimContext, imds_port: int, metadata: MetadataService | None = None) -> None:
        super().__init__(ctx)
        self.imds_port = imds_port
        self.metadata = metadata
        self.pod_rt, self.node_rt = ctx.api.rt("Pod"), ctx.api.rt("Node")
        self.monitors: dict[str, tuple[asyncio.Task[None], NthConfig]] = {}
        self.pods: dict[str, tuple[str, str, str]] = {}  # monitor -> the NTH container whose log it writes
        # (node, event id) -> "pending" | "draining" | "done": each NTH pod of the DaemonSet keeps its
        # own event store, so the same notice text on two nodes is two events
        self.events: dict[tuple[str | None, str], str] = {}
        self.workloads = AddonWorkloads(ctx.api, ("DaemonSet", "Deployment"), IMAGE_MARK, lambda c: parse_env(container_env(c)),
                                        "nth_config_invalid", "NTH exits at start; nothing reacts")
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- which NTH runs where ------------------------------------------------------------
    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        # pod events matter only once an NTH workload exists (its pods starting or stopping)
        return ["scan"] if ev.resource.key != "pods" or self.workloads.deployed else []

    def all_keys(self) -> Iterable[Hashable]:
        return ["scan"]

    def reconcile(self, key: Hashable) -> None:
        wanted: dict[str, tuple[NthConfig, dict[str, Any]]] = {}
        pods: dict[str, tuple[str, str, str]] = {}  # monitor -> the NTH container whose log it writes
        for found in self.workloads.scan():
            cfg = found.config
            if cfg.queue_mode:
                if found.running:
                    meta = found.workload["metadata"]
                    mid = f"queue:{meta['namespace']}/{meta['name']}"
                    wanted[mid] = (cfg, {})
                    pods[mid] = log_target(found.running[0], IMAGE_MARK)
            else:
                for pod in found.running:
                    node = pod["spec"].get("nodeName")
                    if node:
                        wanted[f"imds:{node}"] = (cfg, {"node": node})
                        pods[f"imds:{node}"] = log_target(pod, IMAGE_MARK)
        self.pods = pods
        for mid in [m for m in self.monitors if m not in wanted or self.monitors[m][1] != wanted[m][0]]:
            task, _ = self.monitors.pop(mid)
            task.cancel()
            log.info("nth_monitor_stopped", monitor=mid)
        for mid, (cfg, args) in wanted.items():
            if mid in self.monitors:
                continue
            coro = self._queue_monitor(cfg) if mid.startswith("queue:") else self._imds_monitor(cfg, args["node"])
            self.monitors[mid] = (asyncio.get_running_loop().create_task(coro), cfg)
            log.info("nth_monitor_started", monitor=mid, queue_url=cfg.queue_url or None)
            self._say(pods.get(mid), "INF", "Started watching for interruption events")

    async def stop(self) -> None:
        for task, _ in self.monitors.values():
            task.cancel()
        for task in list(self._tasks):
            task.cancel()

    def _period(self, cluster_seconds: float) -> float:
        return max(MIN_REAL_PERIOD, self.clock.real_seconds(cluster_seconds))

    # ---- IMDS mode -------------------------------------------------------------------------
    def _metadata_url(self, cfg: NthConfig, node_name: str) -> tuple[str, str] | None:
        node = self.api.store.get(self.node_rt, "", node_name)
        if node is None:
            return None
        instance_id = str(node["spec"].get("providerID", "")).rsplit("/", 1)[-1]
        if cfg.instance_metadata_url.rstrip("/") != DEFAULT_METADATA_URL:
            return cfg.instance_metadata_url.rstrip("/"), instance_id
        address = (node["metadata"].get("annotations") or {}).get(LOOPBACK_ANNOTATION)
        return (f"http://{address}:{self.imds_port}", instance_id) if address else None

    def _noticed(self, cfg: NthConfig, instance_id: str) -> bool:
        """The simulator's own metadata shows this instance a notice (a look in process, no HTTP)."""
        if self.metadata is None or cfg.instance_metadata_url.rstrip("/") != DEFAULT_METADATA_URL:
            return False
        meta = self.metadata.get(instance_id)
        return meta is not None and bool(meta.instance_action or meta.rebalance or meta.scheduled)

    async def _imds_monitor(self, cfg: NthConfig, node_name: str) -> None:
        token: str | None = None
        token_expiry = 0.0
        timeout = aiohttp.ClientTimeout(total=2.0)
        last_round = -MIN_IMDS_POLL_REAL
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                await self.clock.sleep_real(self._period(POLL_SECONDS))
                where = self._metadata_url(cfg, node_name)
                if where is None:
                    continue
                base, instance_id = where
                now = time.monotonic()
                if now - last_round < MIN_IMDS_POLL_REAL and not self._noticed(cfg, instance_id):
                    continue
                last_round = now
                try:
                    if token is None or self.clock.timestamp() > token_expiry - 15:
                        token, token_expiry = None, 0.0
                        async with http.put(f"{base}/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL)}) as r:
                            if r.status == 200:
                                token, token_expiry = await r.text(), self.clock.after(TOKEN_TTL)
                    headers = {"X-aws-ec2-metadata-token": token} if token else {}
                    found: list[ne.InterruptionEvent] = []
                    if cfg.enable_spot_interruption_draining and (body := await _get(http, base, "spot/instance-action", headers)):
                        found.append(ne.from_instance_action(body, instance_id))
                    if (cfg.enable_rebalance_monitoring or cfg.enable_rebalance_draining) and (
                        body := await _get(http, base, "events/recommendations/rebalance", headers)
                    ):
                        found.append(ne.from_rebalance(body, instance_id))
                    if cfg.enable_scheduled_event_draining and (body := await _get(http, base, "events/maintenance/scheduled", headers)):
                        found.extend(ne.from_scheduled(body, instance_id))
                except PermissionError:
                    token = None
                    continue
                except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                    log.warning("nth_imds_error", node=node_name, error=str(exc) or type(exc).__name__)
                    continue
                for ev in found:
                    ev.node_name = node_name
                    self._submit(ev, cfg)

    # ---- queue-processor mode ----------------------------------------------------------------
    def _clients(self, cfg: NthConfig) -> tuple[Any, Any, Any]:
        assert self.ctx.moto is not None
        kwargs = {
            "endpoint_url": cfg.aws_endpoint or self.ctx.moto.url,
            "region_name": cfg.aws_region or self.ctx.config.region,
            "aws_access_key_id": "spotchaos-nth", "aws_secret_access_key": "spotchaos-nth",
        }
        return boto3.client("sqs", **kwargs), boto3.client("ec2", **kwargs), boto3.client("autoscaling", **kwargs)

    async def _queue_monitor(self, cfg: NthConfig) -> None:
        sqs, ec2, asg = await asyncio.to_thread(self._clients, cfg)
        visibility = max(1, round(self.clock.real_seconds(VISIBILITY_TIMEOUT)))
        while True:
            await self.clock.sleep_real(self._period(QUEUE_POLL_SECONDS))
            try:
                messages = await asyncio.to_thread(
                    lambda: sqs.receive_message(QueueUrl=cfg.queue_url, MaxNumberOfMessages=5, VisibilityTimeout=visibility,
                                                AttributeNames=["SentTimestamp"], MessageAttributeNames=["All"]).get("Messages", []))
            except Exception as exc:
                log.warning("nth_sqs_receive_failed", queue_url=cfg.queue_url, error=str(exc))
                continue
            for message in messages:
                try:
                    ev = await asyncio.to_thread(self._process_message, cfg, sqs, ec2, asg, message)
                except ne.UnsupportedEvent as exc:
                    log.warning("nth_ignoring_event_due_to_error", error=str(exc), message_id=message.get("MessageId"))
                    continue
                except Exception as exc:
                    log.warning("nth_ignoring_event_due_to_error", error=str(exc), message_id=message.get("MessageId"))
                    continue
                if ev is not None:
                    self._submit(ev, cfg, sqs)

    def _process_message(self, cfg: NthConfig, sqs: Any, ec2: Any, asg: Any, message: dict[str, Any]) -> ne.InterruptionEvent | None:
        """sqs-monitor.go's processSQSMessage, through the real AWS APIs (runs in a worker thread)."""
        ev, instance_id = ne.from_queue_message(message.get("Body", ""))
        if ev is None:
            return None
        try:
            described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        except Exception as exc:
            if "InvalidInstanceID" in str(exc):
                described = []
            else:
                raise
        instances = [i for r in described for i in r.get("Instances", [])]
        if not instances or not instances[0].get("PrivateDnsName"):
            log.info("nth_dropping_event_for_terminated_node", instance=instance_id)
            sqs.delete_message(QueueUrl=cfg.queue_url, ReceiptHandle=message["ReceiptHandle"])
            return None
        ev.node_name = instances[0]["PrivateDnsName"]
        if cfg.check_tag_before_draining:
            groups = asg.describe_auto_scaling_instances(InstanceIds=[instance_id]).get("AutoScalingInstances", [])
            tags = asg.describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": [groups[0]["AutoScalingGroupName"]]}])["Tags"] if groups else []
            if not any(t["Key"] == cfg.managed_tag for t in tags):
                log.info("nth_instance_not_managed", instance=instance_id, managed_tag=cfg.managed_tag,
                         hint=f"tag the Auto Scaling group with {cfg.managed_tag} or set CHECK_TAG_BEFORE_DRAINING=false")
                return None
        ev.receipt_handle = message["ReceiptHandle"]
        return ev

    # ---- handling an interruption --------------------------------------------------------------
    def _submit(self, ev: ne.InterruptionEvent, cfg: NthConfig, sqs: Any = None) -> None:
        if (ev.node_name, ev.event_id) in self.events:
            return
        self.events[(ev.node_name, ev.event_id)] = "pending"
        task = asyncio.get_running_loop().create_task(self._handle(ev, cfg, sqs))
        self._tasks.add(task)
        task.add_done_callback(self._handled)

    def _handled(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("nth_event_handling_failed", error=repr(task.exception()))

    def _pod_for(self, ev: ne.InterruptionEvent) -> tuple[str, str, str] | None:
        """The NTH container that handles the event: the node's own in IMDS mode, the queue processor's otherwise."""
        pods = self.pods
        return pods.get(f"imds:{ev.node_name}") or next((v for k, v in pods.items() if k.startswith("queue:")), None)

    def _say(self, pod: tuple[str, str, str] | None, level: str, message: str, **fields: Any) -> None:
        """A line in the NTH container's log, as NTH's console logger writes it (zerolog: time, level, message, key=value)."""
        if pod is None:
            return
        ts = self.clock.timestamp()
        pairs = " ".join(f"{k}={_zerolog_value(v)}" for k, v in fields.items())
        stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y/%m/%d %H:%M:%S")
        self.api.logs.write(*pod, f"{stamp} {level} {message}" + (f" {pairs}" if pairs else ""), ts)

    def _record(self, cfg: NthConfig, node: dict[str, Any] | None, reason: str, message: str, warning: bool = False) -> None:
        if cfg.emit_kubernetes_events and node is not None:
            self.ctx.recorder(COMPONENT, node["metadata"]["name"]).record(node, reason, message, "Warning" if warning else "Normal",
                                                                          event_annotations(cfg, self._node_metadata(node)))

    def _node_metadata(self, node: dict[str, Any]) -> dict[str, str]:
        """The node's metadata as NTH reads it from IMDS at start (no public address: the simulated nodes have none)."""
        labels = node["metadata"].get("labels") or {}
        internal = next((a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"), "")
        return {"account-id": ACCOUNT_ID, "availability-zone": labels.get("topology.kubernetes.io/zone", ""),
                "instance-id": str((node.get("spec") or {}).get("providerID", "")).rsplit("/", 1)[-1],
                "instance-life-cycle": "spot" if "SPOT" in (labels.get("eks.amazonaws.com/capacityType"), labels.get("karpenter.sh/capacity-type", "").upper()) else "on-demand",
                "instance-type": labels.get("node.kubernetes.io/instance-type", ""), "local-hostname": node["metadata"]["name"],
                "local-ipv4": internal, "public-hostname": "", "public-ipv4": "", "region": labels.get("topology.kubernetes.io/region", "")}

    async def _handle(self, ev: ne.InterruptionEvent, cfg: NthConfig, sqs: Any) -> None:
        wait = ev.start_time - cfg.node_termination_grace_period - self.clock.timestamp()
        if wait > 0:
            await self.clock.sleep(wait)
        node = self.api.store.get(self.node_rt, "", ev.node_name)
        log.info("nth_interruption_event", event_id=ev.event_id, kind=ev.kind, node=ev.node_name, dry_run=cfg.dry_run)
        pod = self._pod_for(ev)
        self._say(pod, "INF", "Adding new event to the event store", event=json.dumps(
            {"EventID": ev.event_id, "Kind": ev.kind, "Description": ev.description, "InstanceID": ev.instance_id, "NodeName": ev.node_name,
             "StartTime": self.clock.isoformat(ev.start_time)}, separators=(",", ":")))
        self._say(pod, "INF", "Requesting instance drain", **{"event-id": ev.event_id, "instance-id": ev.instance_id, "kind": ev.kind,
                                                               "node-name": ev.node_name})
        reason = {"SPOT_ITN": "SpotInterruption", "REBALANCE_RECOMMENDATION": "RebalanceRecommendation", "SCHEDULED_EVENT": "ScheduledEvent"}.get(ev.kind, "SQSTermination")
        self._record(cfg, node, reason, ev.description.strip())
        if node is None:
            self.events[(ev.node_name, ev.event_id)] = "done"
            return
        if cfg.dry_run:
            log.info("nth_dry_run", node=ev.node_name, event_id=ev.event_id, would="cordon and drain")
            self._say(pod, "INF", "Node would have been cordoned and drained, but dry-run flag was set.")
            self.events[(ev.node_name, ev.event_id)] = "done"
            return
        self.events[(ev.node_name, ev.event_id)] = "draining"
        # pre-drain: taint; then the event-id label (and the load balancer exclusion), cordon
        event_value = ne.cut(ev.event_id)

        def mark(n: dict[str, Any]) -> None:
            if cfg.taint_node and ev.taint_key:
                taints = [t for t in n["spec"].get("taints") or [] if t.get("key") != ev.taint_key]
                taints.append({"key": ev.taint_key, "value": event_value, "effect": cfg.taint_effect, "timeAdded": self.clock.isoformat()})
                n["spec"]["taints"] = taints
            labels = n["metadata"].setdefault("labels", {})
            labels[ne.EVENT_ID_LABEL] = event_value
            if cfg.exclude_from_load_balancers:
                labels[ne.EXCLUDE_LB_LABEL] = COMPONENT
            n["spec"]["unschedulable"] = True

        node = self.api.mutate(self.node_rt, "", ev.node_name, mark, manager=MANAGER)
        self._record(cfg, node, "PreDrain", "Pre-drain task successfully executed")
        cordon_only = cfg.cordon_only or (ev.rebalance and not cfg.enable_rebalance_draining)
        if cordon_only:
            log.info("nth_cordoned", node=ev.node_name, event_id=ev.event_id)
            self._say(pod, "INF", "Node successfully cordoned", node_name=ev.node_name, reason=ev.description.strip())
            self._record(cfg, node, "Cordon", "Node successfully cordoned")
            self._finish(ev, cfg, sqs)
            return
        self._say(pod, "INF", "Draining the node")
        ok, problem = await self._drain(ev.node_name, cfg)
        node = self.api.store.get(self.node_rt, "", ev.node_name)
        if ok:
            log.info("nth_cordoned_and_drained", node=ev.node_name, event_id=ev.event_id)
            self._say(pod, "INF", "Node successfully cordoned and drained", node_name=ev.node_name, reason=ev.description.strip())
            self._record(cfg, node, "CordonAndDrain", "Node successfully cordoned and drained")
            self._finish(ev, cfg, sqs)
            if cfg.enable_out_of_service_taint:  # after the post-drain task, never with CORDON_ONLY (draincordon/handler.go)
                self._taint_out_of_service(ev.node_name)
        else:
            log.warning("nth_drain_failed", node=ev.node_name, event_id=ev.event_id, error=problem)
            self._say(pod, "ERR", "There was a problem while trying to cordon and drain the node", error=problem, node_name=ev.node_name)
            self._record(cfg, node, "CordonAndDrainError", f"There was a problem while trying to cordon and drain the node: {problem}", warning=True)
            del self.events[(ev.node_name, ev.event_id)]  # retried on the next poll, as NTH re-adds a dropped event

    def _taint_out_of_service(self, node_name: str) -> None:
        now = self.clock.isoformat()

        def taint(n: dict[str, Any]) -> None:
            kept = [t for t in n["spec"].get("taints") or [] if t.get("key") != ne.OUT_OF_SERVICE_TAINT["key"]]
            n["spec"]["taints"] = [*kept, {**ne.OUT_OF_SERVICE_TAINT, "timeAdded": now}]

        self.api.mutate(self.node_rt, "", node_name, taint, manager=MANAGER)

    def _finish(self, ev: ne.InterruptionEvent, cfg: NthConfig, sqs: Any) -> None:
        self.events[(ev.node_name, ev.event_id)] = "done"
        if sqs is not None and ev.receipt_handle:
            handle = ev.receipt_handle

            def delete() -> None:
                try:
                    sqs.delete_message(QueueUrl=cfg.queue_url, ReceiptHandle=handle)
                except Exception as exc:
                    log.warning("nth_sqs_delete_failed", error=str(exc))

            task = asyncio.get_running_loop().create_task(asyncio.to_thread(delete))
            self._tasks.add(task)  # type: ignore[arg-type]
            task.add_done_callback(self._tasks.discard)  # type: ignore[arg-type]

    async def _drain(self, node_name: str, cfg: NthConfig) -> tuple[bool, str]:
        """kubectl drain's helper as NTH configures it: evict (retrying 429s every 5 s), wait for the
        pods to be gone, give up after NODE_TERMINATION_GRACE_PERIOD."""
        ok, problem = await evict_pods(self.api, self.clock, node_name, deadline=self.clock.after(cfg.node_termination_grace_period),
                                       grace_period=cfg.pod_termination_grace_period, ignore_daemon_sets=cfg.ignore_daemon_sets,
                                       real_period=self._period)
        return ok, problem.replace("global timeout reached", f"global timeout reached: {cfg.node_termination_grace_period}s")
