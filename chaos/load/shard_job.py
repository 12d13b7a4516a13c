"""The Kubernetes Job that runs the load on the cluster (`traffic.placement: cluster`): an Indexed
Job of `shards` pods of the harness image, all at once, each running `spotchaos load-shard` for
its index (JOB_COMPLETION_INDEX) from one wall-clock t=0.  Pure: the manifest, the same for the
simulator and for EKS (`spotchaos render` writes it).

- `backoffLimitPerIndex: 0` and `maxFailedIndexes: shards`: a shard that fails is not restarted
  (it would rejoin the schedule late) and does not fail the others; the harness records it as
  lost.
- By default the shards run on on-demand nodes (any of the labels the common node-group setups
  give them: eksctl's `lifecycle: OnDemand` in the seed, EKS managed node groups'
  `eks.amazonaws.com/capacityType: ON_DEMAND`, Karpenter's `karpenter.sh/capacity-type:
  on-demand`), so an interrupted Spot node does not take load with it."""

from __future__ import annotations

from typing import Any

from chaos.identity import RUN_ID_ANNOTATION, run_label

ON_DEMAND_LABELS = (("lifecycle", "OnDemand"), ("eks.amazonaws.com/capacityType", "ON_DEMAND"), ("karpenter.sh/capacity-type", "on-demand"))
CONTAINER = "load"


def job_name(run_id: str) -> str:
    return f"spotchaos-load-{run_id[-6:]}"  # the run id's random part


def placement(nodes: dict[str, str] | None) -> dict[str, Any]:
    """Where the shards may run: the given labels, else any on-demand node."""
    if nodes:
        return {"nodeSelector": dict(nodes)}
    terms = [{"matchExpressions": [{"key": k, "operator": "In", "values": [v]}]} for k, v in ON_DEMAND_LABELS]
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}


def shard_args(url: str, rate: float, ramp_to: float | None, seconds: float, body: str, timeout: float, shards: int,
               start_at: float | None, bucket: float = 1.0) -> list[str]:
    """`spotchaos load-shard`'s arguments; without `start_at` each shard starts 2 s after its own
    start (a Job applied by hand), the shares adding up to the rate all the same."""
    args = ["load-shard", url, "--rps", f"{rate:g}", "--duration", f"{seconds:.3f}s", "--body", body, "--timeout", f"{timeout:g}s",
            "--shards", str(shards)]
    args += ["--start-at", f"{start_at:.3f}"] if start_at is not None else []
    args += ["--bucket", f"{bucket:g}"] if bucket != 1.0 else []
    return args + (["--ramp-to", f"{ramp_to:g}"] if ramp_to is not None else [])


def experiment_load_job(spec: Any, run_id: str, namespace: str, url: str) -> dict[str, Any]:
    """An experiment's load as the Job to apply by hand on EKS (`spotchaos render --load`): its
    rate, body and timeout, for its warm-up, duration and tail in real seconds (speed 1)."""
    t = spec.traffic
    seconds = t.warmup + spec.duration + t.tail
    return load_job(run_id, namespace, t.image, shard_args(url, t.rate, t.ramp_to, seconds, t.body, t.timeout, t.shards, None),
                    t.shards, t.shard_nodes)


def load_job(run_id: str, namespace: str, image: str, args: list[str], shards: int, nodes: dict[str, str] | None) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "spotchaos-load", **run_label(run_id)}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(run_id), "namespace": namespace, "labels": labels, "annotations": {RUN_ID_ANNOTATION: run_id}},
        "spec": {
            "completionMode": "Indexed", "completions": shards, "parallelism": shards,
            "backoffLimitPerIndex": 0, "maxFailedIndexes": shards,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "restartPolicy": "Never", "terminationGracePeriodSeconds": 30, **placement(nodes),
                    "containers": [{"name": CONTAINER, "image": image, "command": ["spotchaos"], "args": args,
                                    "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                                    "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}}],
                },
            },
        },
    }
