"""Kubernetes watches (nodes, pods, the serving Deployment, Events) turned into journal records.

Each watch lists, then watches from the list's resourceVersion; after a 410 Gone it lists again
and reports what changed in between (deletions too), after a dropped connection it resumes from
the last version it saw, so no change is lost.  Records are written only when what they hold
changes.  Runs in threads: the official client blocks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.rest import ApiException

from chaos.journal import Journal
from chaos.journal.records import (
    DeploymentRecord,
    EventRecord,
    NodeClaimRecord,
    NodeRecord,
    PodRecord,
    Record,
)
from cluster import kube_retry
from cluster.kube_views import condition_true
from cluster.retry_tally import TALLY

log = structlog.get_logger("observe.kube")

NTH_TAINT_PREFIX = "aws-node-termination-handler/"
KARPENTER_TAINT = "karpenter.sh/disrupted"  # Karpenter's termination controller, before it drains
CAPACITY_TYPES = {"spot": "SPOT", "on-demand": "ON_DEMAND", "reserved": "CAPACITY_BLOCK"}  # karpenter.sh/capacity-type -> EKS's spelling
EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
WATCH_SECONDS = 2  # short server-side timeouts so that the threads notice the end of the run
Obj = dict[str, Any]


def _condition(obj: Obj, kind: str) -> bool:
    return condition_true(obj, kind)


def written_at(obj: Obj, *path: str) -> float | None:
    """When the API server last wrote the field at `path` (Unix time, to the second): the time
    of the managedFields entry that owns it; None when no entry owns it."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        fields = entry.get("fieldsV1") or {}
        for key in path:
            fields = fields.get(f"f:{key}") if isinstance(fields, dict) else None
        if fields is not None and entry.get("time"):
            try:
                return datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00")).timestamp()
            except ValueError:
                return None
    return None


def node_record(obj: Obj, deleted: bool, run_time_of: Callable[[float], float] | None = None) -> tuple[str, NodeRecord]:
    """`run_time_of` dates the cordon and the taints by the cluster (`cordon_by`, `taint_by`)."""
    meta, spec = obj["metadata"], obj.get("spec") or {}
    labels = meta.get("labels") or {}
    provider = spec.get("providerID") or ""
    record = NodeRecord(
        node=meta["name"],
        instance=provider.rsplit("/", 1)[-1] if provider else None,
        # a node group's name, or a Karpenter NodePool's
        group=labels.get("eks.amazonaws.com/nodegroup") or labels.get("karpenter.sh/nodepool"),
        az=labels.get("topology.kubernetes.io/zone"),
        type=labels.get("node.kubernetes.io/instance-type"),
        capacity=labels.get("eks.amazonaws.com/capacityType") or CAPACITY_TYPES.get(labels.get("karpenter.sh/capacity-type", "")),
        ready=_condition(obj, "Ready") and not deleted,
        unschedulable=bool(spec.get("unschedulable")),
        nth_taint=any(str(t.get("key", "")).startswith(NTH_TAINT_PREFIX) for t in spec.get("taints") or []),
        karpenter_taint=any(t.get("key") == KARPENTER_TAINT for t in spec.get("taints") or []),
        exclude_lb=EXCLUDE_LB_LABEL in labels,
        deleted=deleted,
    )
    if run_time_of is not None:
        dated = {}
        for key, field in (("cordon_by", "unschedulable"), ("taint_by", "taints")):
            at = written_at(obj, "spec", field) if spec.get(field) else None
            dated[key] = None if at is None else round(run_time_of(at + 1.0), 3)
        record = record.model_copy(update=dated)
    return meta["name"], record


def nodeclaim_record(obj: Obj, deleted: bool) -> tuple[str, NodeClaimRecord]:
    meta, status = obj["metadata"], obj.get("status") or {}
    labels = meta.get("labels") or {}
    provider = str(status.get("providerID") or "")
    record = NodeClaimRecord(
        nodeclaim=meta["name"], nodepool=labels.get("karpenter.sh/nodepool"),
        instance=provider.rsplit("/", 1)[-1] if provider else None, node=status.get("nodeName"),
        type=labels.get("node.kubernetes.io/instance-type"), capacity=CAPACITY_TYPES.get(labels.get("karpenter.sh/capacity-type", "")),
        launched=_condition(obj, "Launched"), registered=_condition(obj, "Registered"), initialized=_condition(obj, "Initialized"),
        drained=_condition(obj, "Drained"), deleting=meta.get("deletionTimestamp") is not None, deleted=deleted,
    )
    return meta["name"], record


def pod_record(obj: Obj, deleted: bool) -> tuple[str, PodRecord]:
    meta, status = obj["metadata"], obj.get("status") or {}
    owners = meta.get("ownerReferences") or []
    key = f"{meta.get('namespace')}/{meta['name']}"
    record = PodRecord(
        pod=key,
        node=(obj.get("spec") or {}).get("nodeName"),
        ip=status.get("podIP"),
        owner_kind=owners[0].get("kind") if owners else None,
        owner=owners[0].get("name") if owners else None,
        phase=status.get("phase"),
        ready=_condition(obj, "Ready"),
        terminating=meta.get("deletionTimestamp") is not None,
        deleted=deleted,
    )
    return key, record


def deployment_record(obj: Obj, deleted: bool) -> tuple[str, DeploymentRecord]:
    meta = obj["metadata"]
    status = obj.get("status") or {}
    record = DeploymentRecord(
        name=meta["name"], namespace=meta.get("namespace"),
        desired=0 if deleted else int((obj.get("spec") or {}).get("replicas") or 0),
        ready=0 if deleted else int(status.get("readyReplicas") or 0),
    )
    return f"{meta.get('namespace')}/{meta['name']}", record


INTERESTING_EVENT_SOURCES = ("termination-handler", "cluster-autoscaler", "node-controller", "aws-node-termination-handler", "karpenter")


def event_record(obj: Obj, deleted: bool) -> tuple[str, EventRecord] | None:
    if deleted:
        return None
    involved = obj.get("involvedObject") or {}
    source = str((obj.get("source") or {}).get("component") or obj.get("reportingComponent") or "")
    # the nodes' events, the handlers' and autoscalers', and why a pod cannot be placed
    if involved.get("kind") != "Node" and not any(s in source for s in INTERESTING_EVENT_SOURCES) and obj.get("reason") != "FailedScheduling":
        return None
    meta = obj["metadata"]
    record = EventRecord(
        reason=obj.get("reason"), object=f"{involved.get('kind')}/{involved.get('name')}",
        message=str(obj.get("message") or "")[:300], source=source,
    )
    return f"{meta.get('namespace')}/{meta['name']}/{obj.get('count', 1)}", record


def watch_events(list_call: Callable[..., Any], version: str) -> Iterator[Obj]:
    """One watch request from `version`, its events as dicts (ERROR events included).

    Read line by line here rather than through kubernetes.watch.Watch: with deserialize=False that
    helper fails on an ERROR event (it looks for a `raw_object` key it did not set) and so turns
    a 410 Gone into a KeyError."""
    resp = list_call(watch=True, resource_version=version, timeout_seconds=WATCH_SECONDS, allow_watch_bookmarks=True, _preload_content=False)
    try:
        buffer = b""
        for chunk in resp.stream(amt=None, decode_content=False):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    yield json.loads(line)
    finally:
        resp.close()
        resp.release_conn()


class KubeWatch(threading.Thread):
    """One resource kind: list + watch, written to the journal as `kind` records."""

    def __init__(self, kind: str, list_call: Callable[..., Any], convert: Callable[[Obj, bool], tuple[str, Record] | None], journal: Journal,
                 stop: threading.Event) -> None:
        super().__init__(name=f"watch-{kind}", daemon=True)
        self.kind = kind
        self.list_call = list_call
        self.convert = convert
        self.journal = journal
        self.stop_event = stop
        self.last: dict[str, Record] = {}
        self.synced = threading.Event()
        self.lists = 0  # full lists: the first, then one after each 410 Gone
        self.resumes = 0  # watches resumed from the last version after a dropped connection

    def _emit(self, obj: Obj, deleted: bool) -> None:
        converted = self.convert(obj, deleted)
        if converted is None:
            return
        key, record = converted
        if self.last.get(key) == record:
            return
        if deleted:
            self.last.pop(key, None)
        else:
            self.last[key] = record
        self.journal.write(record)

    def _list(self) -> str:
        resp = self.list_call(_preload_content=False)
        self.lists += 1
        body = json.loads(resp.data)
        seen = set()
        for item in body.get("items") or []:
            converted = self.convert(item, False)
            if converted is not None:
                seen.add(converted[0])
            self._emit(item, False)
        for key in [k for k in self.last if k not in seen]:
            gone = self.last.pop(key)
            if isinstance(gone, NodeRecord):
                self.journal.write(gone.model_copy(update={"deleted": True, "ready": False}))
            elif isinstance(gone, PodRecord):
                self.journal.write(gone.model_copy(update={"deleted": True}))
        self.synced.set()
        return str(body["metadata"].get("resourceVersion") or "")

    def run(self) -> None:
        version: str | None = None
        failures = 0
        while not self.stop_event.is_set():
            try:
                if version is None:
                    version = self._list()
                for event in watch_events(self.list_call, version):
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        raise ApiException(status=int(obj.get("code") or 500), reason=f"{obj.get('reason')}: {obj.get('message')}")
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if event["type"] == "BOOKMARK":
                        continue
                    self._emit(obj, event["type"] == "DELETED")
                    if self.stop_event.is_set():
                        return
                failures = 0
            except ApiException as exc:
                if exc.status == 410:
                    log.info("watch_relist", kind=self.kind, version=version)
                    version = None  # too old: list again and report the difference
                    continue
                failures += 1
                TALLY.add("kubernetes watch")
                log.warning("watch_failed", kind=self.kind, status=exc.status, reason=exc.reason)
            except Exception as exc:  # noqa: BLE001 - a dropped connection: resume from the last version
                failures += 1
                self.resumes += 1
                TALLY.add("kubernetes watch")
                log.info("watch_resumed", kind=self.kind, error=type(exc).__name__)
            if failures:
                self.stop_event.wait(min(2.0, 0.1 * 2 ** min(failures, 5)))


def kube_watches(api_client: Any, journal: Journal, stop: threading.Event, namespace: str, deployment: str, nodeclaims: bool = False,
                 run_time_of: Callable[[float], float] | None = None) -> list[KubeWatch]:
    """The watches of a run; `nodeclaims` adds Karpenter's NodeClaims (a Karpenter runs);
    `run_time_of` dates node changes by the cluster's own stamps."""
    core = client.CoreV1Api(api_client)
    apps = client.AppsV1Api(api_client)

    def deployments(**kw: Any) -> Any:
        return apps.list_namespaced_deployment(namespace, field_selector=f"metadata.name={deployment}", **kw)

    watches = [
        KubeWatch("node", core.list_node, lambda obj, deleted: node_record(obj, deleted, run_time_of), journal, stop),
        KubeWatch("pod", core.list_pod_for_all_namespaces, pod_record, journal, stop),
        KubeWatch("deployment", deployments, deployment_record, journal, stop),
        KubeWatch("event", core.list_event_for_all_namespaces, event_record, journal, stop),
    ]
    if nodeclaims and _serves(api_client, "karpenter.sh", "v1"):
        custom = client.CustomObjectsApi(api_client)

        def nodeclaims(**kw: Any) -> Any:
            return custom.list_cluster_custom_object("karpenter.sh", "v1", "nodeclaims", **kw)

        watches.append(KubeWatch("nodeclaim", nodeclaims, nodeclaim_record, journal, stop))
    return watches


def _serves(api_client: Any, group: str, version: str) -> bool:
    try:
        groups = kube_retry.call(client.ApisApi(api_client).get_api_versions).groups or []
    except Exception as exc:  # noqa: BLE001 - discovery failing after its retries: that watch goes without
        log.warning("discovery_failed", group=group, error=str(exc)[:200])
        return False
    return any(g.name == group and any(v.version == version for v in g.versions or []) for g in groups)
