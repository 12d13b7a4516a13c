"""The Kubernetes calls of the load on the cluster: its Job, its shards' pods and their logs
(followed as `kubectl logs -f` follows them), suspending and deleting the Job, and what became of
a shard's pod and node.  Every call goes through the one retry policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cluster import kube_retry

INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"


@dataclass(frozen=True)
class ShardPod:
    name: str
    index: int
    phase: str
    node: str | None
    waiting: str  # why it is not running yet, from its conditions


def _core(api_client: Any) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api_client)


def _batch(api_client: Any) -> Any:
    from kubernetes import client

    return client.BatchV1Api(api_client)


def create_job(api_client: Any, namespace: str, job: dict[str, Any]) -> None:
    kube_retry.call(_batch(api_client).create_namespaced_job, namespace, job)


def suspend_job(api_client: Any, namespace: str, name: str) -> None:
    """Suspend: the Job controller ends the active pods (SIGTERM, then their grace period)."""
    kube_retry.call(_batch(api_client).patch_namespaced_job, name, namespace, {"spec": {"suspend": True}})


def job_pods(api_client: Any, namespace: str, job: str) -> list[ShardPod]:
    pods = kube_retry.call(_core(api_client).list_namespaced_pod, namespace, label_selector=f"job-name={job}").items
    out = []
    for p in pods:
        raw = (p.metadata.annotations or {}).get(INDEX_ANNOTATION, "")
        waiting = "".join(f" ({c.reason}: {c.message})" for c in p.status.conditions or [] if c.status == "False" and c.reason)
        out.append(ShardPod(p.metadata.name, int(raw) if raw.isdigit() else -1, p.status.phase or "", p.spec.node_name, waiting))
    return out


def follow_log(api_client: Any, namespace: str, pod: str, container: str) -> Iterator[str]:
    """The container's log lines as they are written, until the container ends or the stream breaks."""
    resp = _core(api_client).read_namespaced_pod_log(pod, namespace, container=container, follow=True, _preload_content=False)
    pending = b""
    for chunk in resp.stream(amt=65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode(errors="replace")
    if pending:
        yield pending.decode(errors="replace")


def why_gone(api_client: Any, namespace: str, pod: str, node: str | None) -> str | None:
    """Why a pod can no longer do its work (deleted, ended, its node gone or not Ready), or None
    while it looks alive."""
    from kubernetes.client.exceptions import ApiException

    core = _core(api_client)
    try:
        p = core.read_namespaced_pod(pod, namespace)
    except ApiException as exc:
        return "its pod was deleted" if exc.status == 404 else None
    if p.status.phase in ("Failed", "Succeeded"):
        return f"its pod {p.status.phase.lower()}"
    if p.metadata.deletion_timestamp:
        return "its pod is being deleted"
    if not node:
        return None
    try:
        n = core.read_node(node)
    except ApiException as exc:
        return f"its node {node} is gone" if exc.status == 404 else None
    ready = next((c for c in n.status.conditions or [] if c.type == "Ready"), None)
    if ready is not None and ready.status != "True":
        return f"its node {node} is not Ready ({ready.reason or 'NodeStatusUnknown'})"
    return None


def delete_job(api_client: Any, namespace: str, name: str) -> str:
    from kubernetes.client.exceptions import ApiException

    try:
        kube_retry.call(_batch(api_client).delete_namespaced_job, name, namespace, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise
        return f"{namespace}/{name}: already gone"
    return f"{namespace}/{name}: deleted"


def jobs_labelled(api_client: Any, selector: str, namespace: str | None = None) -> list[tuple[str, str]]:
    """(namespace, name) of the Jobs with these labels, in one namespace or all."""
    batch = _batch(api_client)
    if namespace is None:
        items = kube_retry.call(batch.list_job_for_all_namespaces, label_selector=selector).items
    else:
        items = kube_retry.call(batch.list_namespaced_job, namespace, label_selector=selector).items
    return [(j.metadata.namespace, j.metadata.name) for j in items]
