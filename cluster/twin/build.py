"""The twin built in a running simulator: the eksctl config's node groups launched through its
AWS API, then the manifests applied through its Kubernetes API as `kubectl create` would
(namespaces first; an object that exists is left as it is).  A kind the simulator does not serve
is kept out and listed, not fatal; an object the API server refuses is listed with its reason.

The first twin built in a simulator is recorded there (cluster/held_clusters.py: the ConfigMap
kube-system/spotchaos-twin, a digest of its inputs, its cluster and groups), so that runs against
a simulator kept running build it once: a run of the same inputs finds it and reuses it, a run of
other inputs is refused (existing_twin).  Building by hand (`sim up -f`) may still layer inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kubernetes import config as kube_config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from cluster.aws import interruption_queues
from cluster.components import karpenter, nth
from cluster.endpoints import Endpoints
from cluster.held_clusters import digest_of, read_held, record_held
from cluster.kube_discovery import dynamic_client
from cluster.manifests import karpenter as karpenter_manifests
from cluster.nodegroups import aws_clients, create_node_group, ensure_network, group_name
from cluster.twin.inputs import Sourced, TwinInputError, TwinSources
from cluster.twin.node_groups import twin_cluster


@dataclass
class TwinReport:
    """What the build made and what it could not."""

    node_groups: list[str] = field(default_factory=list)  # "name: N x types (Spot|on-demand)"
    groups: list[str] = field(default_factory=list)  # the Auto Scaling groups' names
    cluster: str | None = None  # the eksctl config's metadata.name
    created: dict[str, int] = field(default_factory=dict)  # kind -> objects created
    existing: int = 0
    not_modelled: dict[str, list[str]] = field(default_factory=dict)  # "kind (apiVersion)" -> sources
    refused: list[str] = field(default_factory=list)  # "Kind name (source): the API server's reason"
    helm_tests: list[str] = field(default_factory=list)  # "Kind name (source)": helm test hooks, which only `helm test` runs
    queues: list[str] = field(default_factory=list)  # "queue (reader)": interruption queues made for the add-ons that read one
    crds_installed: list[str] = field(default_factory=list)  # Karpenter's CRDs, installed because the manifests use them and leave them out
    nodes_late: str | None = None  # the node groups' nodes not all Ready when the workloads went on
    reused: str | None = None  # when the simulator held this twin already: since when

    def lines(self) -> list[str]:
        if self.reused:
            return [f"reused: the twin of these same inputs, built in this simulator at {self.reused} "
                    f"({len(self.groups)} node group(s)); nothing launched or applied"]
        out = [f"node group {g}" for g in self.node_groups]
        out += [f"interruption queue {q} and its EventBridge rules, as its setup guide makes them" for q in self.queues]
        if self.crds_installed:
            out.append(f"installed Karpenter's CRDs ({', '.join(self.crds_installed)}), as `helm install` does from the chart's crds/: "
                       "the manifests use them and do not hold them (`helm template` leaves crds/ out)")
        out += [f"created {n} {kind}" for kind, n in sorted(self.created.items())]
        if self.existing:
            out.append(f"{self.existing} object(s) already there, left as they are")
        out += [f"not modelled: {kind}, {len(sources)} object(s) ({sources[0]}{', ...' if len(sources) > 1 else ''}): the simulator does not serve this kind"
                for kind, sources in sorted(self.not_modelled.items())]
        out += [f"refused: {r}" for r in self.refused]
        out += [f"nodes: {self.nodes_late}"] if self.nodes_late else []
        out += [f"not installed: {t}: a helm test hook (helm.sh/hook: test), which only `helm test` runs" for t in self.helm_tests]
        return out


NODES_READY_WAIT_S = 120.0  # real seconds for the node groups' first nodes, before the workloads go on


TWIN_RECORD = "spotchaos-twin"  # one twin per simulator: twins of other inputs would share names and namespaces


def digest(sources: TwinSources) -> str:
    """The inputs' digest: every eksctl config and object as read (behaviours written on), in order."""
    return digest_of([[s.obj for s in sources.cluster_configs], [s.obj for s in sources.objects]])


def existing_twin(endpoints: Endpoints, sources: TwinSources) -> TwinReport | None:
    """The twin this simulator holds, when it was built from these same inputs (its report says it
    was reused); None when it holds none.  Raises TwinInputError when it holds the twin of other
    inputs: a run never layers its twin on another."""
    api = kube_config.new_client_from_config(config_file=endpoints.kubeconfig, context=endpoints.kube_context)
    held = read_held(api, TWIN_RECORD)
    if held is None:
        return None
    if held.get("digest") != digest(sources):
        raise TwinInputError(f"this simulator holds the twin of other inputs (built at {held.get('builtAt') or '?'}, cluster "
                             f"{held.get('cluster') or '?'}): a twin is never built over another; start a fresh simulator "
                             "(drop target.simulator.state_dir, or `spotchaos sim down` and `sim up`)")
    return TwinReport(groups=json.loads(held.get("groups") or "[]"), cluster=held.get("cluster") or None, reused=held.get("builtAt") or "?")


def build_twin(endpoints: Endpoints, sources: TwinSources) -> TwinReport:
    """The node groups launched and their nodes Ready before the manifests go on, as a cluster
    exists before its workloads are deployed: pods spread over every node, not the first up.  The
    first twin built in a simulator is recorded there (existing_twin reads it)."""
    api = kube_config.new_client_from_config(config_file=endpoints.kubeconfig, context=endpoints.kube_context)
    report = TwinReport()
    desired = _launch_node_groups(endpoints, sources, report)
    _make_queues(endpoints, sources, report)
    if sources.objects:
        if desired:
            _wait_nodes_ready(api, desired, report)
        client = dynamic_client(api)
        crds = karpenter_crds_left_out(sources)
        report.crds_installed = [c["metadata"]["name"] for c in crds]
        objects = [Sourced(c, "Karpenter's chart, crds/") for c in crds] + list(sources.objects)
        for item in sorted(objects, key=lambda s: (s.kind != "Namespace", s.kind != "CustomResourceDefinition")):
            if is_helm_test(item.obj):
                report.helm_tests.append(f"{item.kind} {(item.obj.get('metadata') or {}).get('name', '?')} ({item.source})")
                continue
            _apply(client, item, report)
    record_held(api, TWIN_RECORD, {"digest": digest(sources), "cluster": report.cluster or "", "groups": json.dumps(report.groups)})
    return report


def _launch_node_groups(endpoints: Endpoints, sources: TwinSources, report: TwinReport) -> int:
    """Each eksctl config's network and node groups; returns how many nodes they want."""
    desired = 0
    if not sources.cluster_configs:
        return desired
    ec2, asg = aws_clients(endpoints.aws_endpoint_url, endpoints.region)
    existing = {g["AutoScalingGroupName"] for page in asg.get_paginator("describe_auto_scaling_groups").paginate() for g in page["AutoScalingGroups"]}
    for cfg in sources.cluster_configs:
        cluster = twin_cluster(cfg.obj, endpoints.region)
        report.cluster = report.cluster or cluster.name
        subnets = dict(zip(cluster.zones, ensure_network(ec2, cluster.name, cluster.zones, extra_tags=cluster.tags), strict=True))
        for spec in cluster.groups:
            name = group_name(spec.cluster, spec.name)  # one launched by a build cut short is kept, as provisioning keeps its groups
            report.groups.append(name if name in existing else create_node_group(ec2, asg, spec, [subnets[z] for z in cluster.group_zones[spec.name]]))
            desired += spec.desired
            report.node_groups.append(f"{spec.name}: {spec.desired} x {', '.join(spec.instance_types[:3])}"
                                      f"{' ...' if len(spec.instance_types) > 3 else ''} ({'Spot' if spec.spot else 'on-demand'})")
    return desired


def _make_queues(endpoints: Endpoints, sources: TwinSources, report: TwinReport) -> None:
    wanted = queues_read(sources)
    if not wanted:
        return
    sqs, events = (_client(endpoints, service) for service in ("sqs", "events"))
    for wiring, queue in wanted:
        interruption_queues.ensure_queue_and_rules(sqs, events, report.cluster or "twin", wiring=wiring, queue=queue)
        report.queues.append(f"{queue} ({'Karpenter' if wiring is interruption_queues.KARPENTER else 'NTH'})")


def _wait_nodes_ready(api: Any, desired: int, report: TwinReport) -> None:
    from kubernetes import client

    from cluster.kube_views import is_ready
    from cluster.waiting import WaitTimeout, wait_for

    core = client.CoreV1Api(api)

    def ready() -> int:
        return sum(1 for n in core.list_node().items if is_ready(api.sanitize_for_serialization(n)))
    try:
        wait_for(lambda: ready() >= desired, NODES_READY_WAIT_S, "the node groups' nodes Ready", interval=0.2)
    except WaitTimeout:
        report.nodes_late = f"{ready()} of {desired} Ready after {NODES_READY_WAIT_S:g}s; the workloads went on anyway"


def _controllers(sources: TwinSources) -> list[dict[str, Any]]:
    """The containers of the manifests' Deployments and DaemonSets (where add-ons run)."""
    return [c for item in sources.objects if item.kind in ("Deployment", "DaemonSet")
            for c in ((((item.obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])]


def queues_read(sources: TwinSources) -> list[tuple[interruption_queues.Wiring, str]]:
    """The SQS queues the manifests' add-ons read: Karpenter's INTERRUPTION_QUEUE, NTH's QUEUE_URL
    in queue mode.  Their infrastructure code (Karpenter's CloudFormation, NTH's setup guide)
    makes them outside Kubernetes; the twin makes them as those guides do."""
    found: dict[str, interruption_queues.Wiring] = {}
    for c in _controllers(sources):
        if karpenter.is_karpenter(c) and karpenter.settings(c).interruption_queue:
            found.setdefault(karpenter.settings(c).interruption_queue, interruption_queues.KARPENTER)
        if nth.is_nth(c):
            url = next((str(e.get("value")) for e in c.get("env") or [] if e.get("name") == "QUEUE_URL" and e.get("value")), "")
            if url:
                found.setdefault(url.rstrip("/").rsplit("/", 1)[-1], interruption_queues.NTH)
    return [(wiring, queue) for queue, wiring in found.items()]


def karpenter_crds_left_out(sources: TwinSources) -> list[dict[str, Any]]:
    """Karpenter's CRDs, when the manifests run Karpenter or hold its objects but not its CRDs:
    a team renders the chart with `helm template`, which leaves the chart's crds/ out, and
    installs it with `helm install`, which creates them first."""
    uses = any(str(i.obj.get("apiVersion", "")).split("/")[0] in karpenter_manifests.CRD_GROUPS for i in sources.objects) \
        or any(karpenter.is_karpenter(c) for c in _controllers(sources))
    given = {(i.obj.get("metadata") or {}).get("name") for i in sources.objects if i.kind == "CustomResourceDefinition"}
    return [c for c in karpenter_manifests.crds() if c["metadata"]["name"] not in given] if uses else []


def _client(endpoints: Endpoints, service: str) -> Any:
    import boto3

    return boto3.client(service, **endpoints.aws_client_kwargs())


def is_helm_test(obj: dict[str, Any]) -> bool:
    """A chart's test hook (`helm.sh/hook: test`, or the older test-success/test-failure): rendered
    by `helm template`, but `helm install` does not create it."""
    hooks = str(((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", ""))
    return any(h.strip() in ("test", "test-success", "test-failure") for h in hooks.split(","))


def _apply(client: Any, item: Sourced, report: TwinReport) -> None:
    obj = item.obj
    meta = obj.get("metadata") or {}
    try:
        resource = client.resources.get(api_version=obj.get("apiVersion", ""), kind=item.kind)
    except ResourceNotFoundError:
        report.not_modelled.setdefault(f"{item.kind} ({obj.get('apiVersion', '')})", []).append(item.source)
        return
    try:
        resource.create(body=obj, namespace=(meta.get("namespace") or "default") if resource.namespaced else None)
        report.created[item.kind] = report.created.get(item.kind, 0) + 1
    except ApiException as exc:
        if exc.status == 409:
            report.existing += 1
        else:
            report.refused.append(f"{item.kind} {meta.get('name', '?')} ({item.source}): {_message(exc)}")


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)[:300]
    except ValueError:
        return str(exc.reason)
