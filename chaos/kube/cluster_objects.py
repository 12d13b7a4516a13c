"""What doctor reads from a live cluster's Kubernetes API: the objects it checks (the checks
themselves are pure in cluster/doctor)."""

from __future__ import annotations

from typing import Any

from chaos.kube.clients import api_client
from cluster import kube_retry
from cluster.endpoints import Endpoints
from cluster.kube_discovery import dynamic_client

Obj = dict[str, Any]
KINDS = (("apps/v1", "Deployment"), ("apps/v1", "DaemonSet"), ("networking.k8s.io/v1", "Ingress"), ("policy/v1", "PodDisruptionBudget"),
         ("autoscaling/v2", "HorizontalPodAutoscaler"), ("v1", "Secret"), ("v1", "Service"))
OPTIONAL_KINDS = (("karpenter.sh/v1", "NodePool"),)  # read when the cluster serves them (Karpenter installed)


def cluster_objects(endpoints: Endpoints) -> list[Obj]:
    client = dynamic_client(api_client(endpoints))
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    objects: list[Obj] = []
    for api_version, kind in KINDS + OPTIONAL_KINDS:
        try:
            resource = kube_retry.call(client.resources.get, api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            if (api_version, kind) in OPTIONAL_KINDS:
                continue
            raise
        for item in kube_retry.call(resource.get).items:
            obj = item.to_dict()
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
            objects.append(obj)
    return objects
