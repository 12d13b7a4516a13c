"""A run's results as metrics (pure): its verdict, each hypothesis (held or not, and the value it
measured), the slowest interrupted node's milestones after its notice, and the traffic's error
ratio and p99, labelled with the experiment, the cluster and the target.  The run directory
keeps them as an OpenMetrics text file (metrics.openmetrics.txt); `--metrics` pushes the same
samples to a Prometheus Pushgateway or CloudWatch (chaos/delivery/metrics.py), and
docs/grafana/spotchaos.json charts them.

Names follow Prometheus's conventions: base units (seconds, ratios), `spotchaos_` prefixed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from chaos.journal import of
from chaos.journal.records import ConnectedRecord, ProvisionedRecord
from chaos.report.data import ReportData

# (name, help) of every metric a run gives
HELP = {
    "spotchaos_run_passed": "1 when every hypothesis held, else 0.",
    "spotchaos_run_verdict": "1 for the run's verdict (label verdict: passed, failed, aborted, error, inconclusive).",
    "spotchaos_run_exit_code": "The run's exit code (0 passed, 1 failed, 2 aborted, 3 error, 5 inconclusive).",
    "spotchaos_run_timestamp_seconds": "When the run started (Unix time).",
    "spotchaos_run_duration_seconds": "The run's length in cluster seconds.",
    "spotchaos_run_requests": "Requests the run sent.",
    "spotchaos_run_error_ratio": "Failed requests over all requests sent.",
    "spotchaos_run_p99_latency_seconds": "The 99th percentile of the requests' latency.",
    "spotchaos_hypothesis_held": "1 when the hypothesis held, 0 when breached (absent when not judged).",
    "spotchaos_hypothesis_value": "What the hypothesis measured, in its check's unit (seconds, ratio or milliseconds).",
    "spotchaos_node_milestone_seconds": "Seconds from the notice to the milestone, on the slowest interrupted node.",
}
MILESTONES = ("taint", "cordon", "first_eviction", "drained", "target_draining", "targets_gone", "reclaimed", "replacement_ready", "replicas_restored")


@dataclass(frozen=True)
class Sample:
    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def run_labels(data: ReportData) -> dict[str, str]:
    provisioned = next(iter(of(data.records, ProvisionedRecord)), ProvisionedRecord())
    connected = next(iter(of(data.records, ConnectedRecord)), ConnectedRecord())
    return {"experiment": data.spec.name, "cluster": provisioned.cluster or data.spec.cluster.name or "",
            "target": connected.target or data.spec.target.kind}


def samples(data: ReportData) -> list[Sample]:
    return list(_samples(data, run_labels(data)))


def _samples(data: ReportData, run: dict[str, str]) -> Iterator[Sample]:
    verdict = data.verdict
    yield Sample("spotchaos_run_passed", 1.0 if verdict.status == "passed" else 0.0, run)
    yield Sample("spotchaos_run_verdict", 1.0, {**run, "verdict": str(verdict.status)})
    yield Sample("spotchaos_run_exit_code", float(verdict.exit_code), run)
    started = data.records[0].wall if data.records else None
    if started:
        yield Sample("spotchaos_run_timestamp_seconds", datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp(), run)
    yield Sample("spotchaos_run_duration_seconds", round(max((r.t for r in data.records), default=0.0), 3), run)
    yield Sample("spotchaos_run_requests", float(data.traffic.requests), run)
    yield Sample("spotchaos_run_error_ratio", round(data.traffic.error_rate, 6), run)
    p99 = data.traffic.percentiles_ms().get("p99")
    if p99 is not None:
        yield Sample("spotchaos_run_p99_latency_seconds", round(p99 / 1000.0, 6), run)
    for h in verdict.hypotheses:
        labels = {**run, "hypothesis": h.name, "check": h.check}
        if h.status in ("pass", "fail"):
            yield Sample("spotchaos_hypothesis_held", 1.0 if h.status == "pass" else 0.0, labels)
        if h.value is not None and math.isfinite(h.value):
            yield Sample("spotchaos_hypothesis_value", float(h.value), labels)
    for milestone in MILESTONES:
        seconds = [s for m in data.nodes if (s := m.since_notice(milestone)) is not None]
        if seconds:
            yield Sample("spotchaos_node_milestone_seconds", round(max(seconds), 3), {**run, "milestone": milestone})


def registry_of(found: list[Sample]) -> object:
    """A prometheus_client registry holding the samples, one gauge family per metric (what the
    OpenMetrics writer and push_to_gateway read)."""
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import CollectorRegistry

    class _Run:
        def collect(self) -> Iterator[GaugeMetricFamily]:
            for name, text in HELP.items():
                mine = [s for s in found if s.name == name]
                if mine:
                    keys = list(mine[0].labels)
                    family = GaugeMetricFamily(name, text, labels=keys)
                    for s in mine:
                        family.add_metric([s.labels[k] for k in keys], s.value)
                    yield family

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Run())
    return registry


def openmetrics(found: list[Sample]) -> str:
    """The samples in the OpenMetrics text format (prometheus_client's own writer), ending `# EOF`."""
    from prometheus_client.openmetrics.exposition import generate_latest

    text: bytes = generate_latest(registry_of(found))  # type: ignore[no-untyped-call]
    return text.decode()
