"""Kubernetes API clients from a kubeconfig, the contexts a kubeconfig holds, and the simulator's
clock as its `kube-system/spotchaos-sim` ConfigMap publishes it."""

from __future__ import annotations

from typing import Any

from cluster.endpoints import Endpoints

# the client is imported when first used: commands that never reach a cluster start without it


def api_client(endpoints: Endpoints) -> Any:
    from kubernetes import config

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
    data = api.read_namespaced_config_map("spotchaos-sim", "kube-system").data or {}
    start = data.get("clockStartUnix")
    return float(data.get("clockSpeed", endpoints.clock_speed)), (float(start) if start else None)
