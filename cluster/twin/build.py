"""The twin built in a running simulator: the eksctl config's node groups launched through its
AWS API, then the manifests applied through its Kubernetes API as `kubectl create` would
(namespaces first; an object that exists is left as it is).  A kind the simulator does not serve
is kept out and listed, not fatal; an object the API server refuses is listed with its reason."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kubernetes import config as kube_config
from kubernetes import dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from cluster.endpoints import Endpoints
from cluster.nodegroups import aws_clients, create_node_group, ensure_network
from cluster.twin.inputs import Sourced, TwinSources
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

    def lines(self) -> list[str]:
        out = [f"node group {g}" for g in self.node_groups]
        out += [f"created {n} {kind}" for kind, n in sorted(self.created.items())]
        if self.existing:
            out.append(f"{self.existing} object(s) already there, left as they are")
        out += [f"not modelled: {kind}, {len(sources)} object(s) ({sources[0]}{', ...' if len(sources) > 1 else ''}): the simulator does not serve this kind"
                for kind, sources in sorted(self.not_modelled.items())]
        out += [f"refused: {r}" for r in self.refused]
        return out


def build_twin(endpoints: Endpoints, sources: TwinSources) -> TwinReport:
    report = TwinReport()
    if sources.cluster_configs:
        ec2, asg = aws_clients(endpoints.aws_endpoint_url, endpoints.region)
        for cfg in sources.cluster_configs:
            cluster = twin_cluster(cfg.obj, endpoints.region)
            report.cluster = report.cluster or cluster.name
            subnets = dict(zip(cluster.zones, ensure_network(ec2, cluster.name, cluster.zones), strict=True))
            for spec in cluster.groups:
                report.groups.append(create_node_group(ec2, asg, spec, [subnets[z] for z in cluster.group_zones[spec.name]]))
                report.node_groups.append(f"{spec.name}: {spec.desired} x {', '.join(spec.instance_types[:3])}"
                                          f"{' ...' if len(spec.instance_types) > 3 else ''} ({'Spot' if spec.spot else 'on-demand'})")
    if sources.objects:
        api = kube_config.new_client_from_config(config_file=endpoints.kubeconfig, context=endpoints.kube_context)
        client = dynamic.DynamicClient(api)
        for item in sorted(sources.objects, key=lambda s: s.kind != "Namespace"):
            _apply(client, item, report)
    return report


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
