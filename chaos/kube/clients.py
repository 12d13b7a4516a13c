"""Kubernetes API clients from a kubeconfig, the contexts a kubeconfig holds, and the simulator's
clock as its `kube-system/spotchaos-sim` ConfigMap publishes it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cluster import kube_retry
from cluster.endpoints import Endpoints

# the client is imported when first used: commands that never reach a cluster start without it

IN_CLUSTER = "in-cluster"  # the kubeconfig and context of a harness running in a pod: its service account
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")  # where the kubelet mounts its token and CA


def in_a_pod() -> bool:
    """Running in a Kubernetes pod with a service account token mounted."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (SERVICE_ACCOUNT_DIR / "token").is_file()


def api_client(endpoints: Endpoints) -> Any:
    from kubernetes import client, config

    if endpoints.kubeconfig == IN_CLUSTER:  # the pod's service account, as client-go's rest.InClusterConfig
        configuration = client.Configuration()
        loader = config.incluster_config.InClusterConfigLoader(token_filename=str(SERVICE_ACCOUNT_DIR / "token"),
                                                                cert_filename=str(SERVICE_ACCOUNT_DIR / "ca.crt"))
        loader.load_and_set(configuration)
        return client.ApiClient(configuration)
    return config.new_client_from_config(config_file=endpoints.kubeconfig, context=endpoints.kube_context)


def contexts(kubeconfig: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(every context, the current one); any unreadable kubeconfig raises."""
    from kubernetes import config

    found, current = config.list_kube_config_contexts(config_file=kubeconfig)
    return list(found), current


def sim_clock(endpoints: Endpoints) -> tuple[float, float | None]:
    """(the simulator's clock speed, its start as Unix time when published)."""
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=endpoints.kubeconfig))
    data = kube_retry.call(api.read_namespaced_config_map, "spotchaos-sim", "kube-system").data or {}
    start = data.get("clockStartUnix")
    return float(data.get("clockSpeed", endpoints.clock_speed)), (float(start) if start else None)
