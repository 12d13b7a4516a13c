"""Where a run's metrics go (`--metrics`): a Prometheus Pushgateway (prometheus://HOST:PORT/JOB)
or CloudWatch (cloudwatch://NAMESPACE).  The samples are chaos/report/metrics.py's, the ones the
run directory keeps as OpenMetrics text.

- Pushgateway: the run's samples replace the group job=JOB, experiment=..., cluster=... (a PUT,
  as prometheus_client's push_to_gateway makes it): the last run of each experiment on each
  cluster, the series Grafana charts over time as Prometheus scrapes the gateway.
- CloudWatch: one datum per sample, the labels as dimensions (Experiment, Cluster, Target, and
  Hypothesis, Check, Milestone where the sample has them), the run's start as its timestamp."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlparse

from chaos.errors import ChaosError
from chaos.report.metrics import Sample, registry_of

NAMESPACE = re.compile(r"^[A-Za-z0-9.\-_/#:]{1,255}$")  # CloudWatch's namespace characters
JOB = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
GROUPING = ("experiment", "cluster")
UNITS = {"spotchaos_run_duration_seconds": "Seconds", "spotchaos_run_p99_latency_seconds": "Seconds", "spotchaos_node_milestone_seconds": "Seconds",
         "spotchaos_run_requests": "Count"}


class MetricsInputError(ChaosError):
    """A --metrics destination that cannot be used; the message names the form to give."""


@dataclass(frozen=True)
class MetricsDestination:
    kind: Literal["prometheus", "cloudwatch"]
    name: str  # the Pushgateway's job, or the CloudWatch namespace
    address: str = ""  # the Pushgateway's HOST:PORT

    def __str__(self) -> str:
        return f"prometheus://{self.address}/{self.name}" if self.kind == "prometheus" else f"cloudwatch://{self.name}"


def parse_metrics_url(text: str) -> MetricsDestination:
    shown = text if len(text) <= 80 else text[:77] + "..."
    parsed = urlparse(text)
    if parsed.scheme == "prometheus":
        job = parsed.path.strip("/")
        if not parsed.hostname or not parsed.port or not JOB.match(job) or parsed.query or parsed.fragment or parsed.username:
            raise MetricsInputError(f"--metrics: {shown!r}: give prometheus://HOST:PORT/JOB, the Pushgateway's address and the job to push as")
        return MetricsDestination("prometheus", job, f"{parsed.hostname}:{parsed.port}")
    if parsed.scheme == "cloudwatch":
        namespace = (parsed.netloc + parsed.path).strip("/")
        if not NAMESPACE.match(namespace) or namespace.startswith("AWS/") or parsed.query or parsed.fragment:
            raise MetricsInputError(f"--metrics: {shown!r}: give cloudwatch://NAMESPACE (letters, digits and . - _ / # :; not AWS/)")
        return MetricsDestination("cloudwatch", namespace)
    raise MetricsInputError(f"--metrics: {shown!r}: give prometheus://HOST:PORT/JOB (a Pushgateway) or cloudwatch://NAMESPACE")


def metric_data(found: list[Sample], started: float | None = None) -> list[dict[str, Any]]:
    """The samples as CloudWatch's MetricData (pure): one datum each, its labels as dimensions."""
    when = datetime.fromtimestamp(started, UTC) if started else None
    data = []
    for s in found:
        if s.name == "spotchaos_run_timestamp_seconds":
            continue  # the datum's own Timestamp says it
        dims = [{"Name": k.capitalize(), "Value": v[:1024]} for k, v in sorted(s.labels.items()) if v][:30]
        datum: dict[str, Any] = {"MetricName": s.name, "Dimensions": dims, "Value": s.value, "Unit": UNITS.get(s.name, "None")}
        if when is not None:
            datum["Timestamp"] = when
        data.append(datum)
    return data


def push(dest: MetricsDestination, found: list[Sample], client: Any | None = None) -> str:
    """Send the samples; returns what was done, for the run's output.  Raises what the transport raises."""
    if dest.kind == "prometheus":
        from prometheus_client.exposition import push_to_gateway

        first = found[0].labels if found else {}
        grouping = {k: first[k] for k in GROUPING if first.get(k)}
        stripped = [Sample(s.name, s.value, {k: v for k, v in s.labels.items() if k not in grouping}) for s in found]
        push_to_gateway(dest.address, job=dest.name, registry=registry_of(stripped), grouping_key=grouping, timeout=10)  # type: ignore[arg-type]
        return f"pushed {len(found)} samples to {dest}"
    from chaos.aws.cloudwatch_metrics import put_metric_data

    started = next((s.value for s in found if s.name == "spotchaos_run_timestamp_seconds"), None)
    return f"put {put_metric_data(dest.name, metric_data(found, started), client)} metrics in {dest}"
