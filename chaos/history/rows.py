"""One run as rows of the results store (pure): the run itself (experiment and its content hash,
profile, target (local or eks, the account, context and cluster), versions (spotchaos's; the cluster's Kubernetes, NTH, CA and LBC), verdict, traffic totals and percentiles, durations, where it ran), one
row per hypothesis (measured value, bound, status) and one per node milestone (seconds after the
notice).  Built from a journal's report data, so a run directory imports the same way a finished
run records itself."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from chaos import __version__
from chaos.evidence.milestones import MILESTONES
from chaos.journal import of
from chaos.journal.records import (
    ComponentsRecord,
    ConnectedRecord,
    ExperimentRecord,
    GuardrailsRecord,
    ProvisionedRecord,
)
from chaos.report.data import ReportData


@dataclass(frozen=True)
class RunRows:
    run: dict[str, Any]
    hypotheses: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)


COMPONENT_PARTS = ("kubernetes", "nth", "cluster_autoscaler", "lbc", "karpenter")


def _text(value: Any) -> str | None:
    return str(value)[:60] if value else None


def content_hash(spec: dict[str, Any]) -> str:
    """The experiment's content, without where it runs: the same experiment on another target or
    speed hashes the same."""
    body = {k: v for k, v in spec.items() if k not in ("target", "description")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def run_rows(data: ReportData, run_dir: str) -> RunRows:
    head = data.records[0]
    connected = next(iter(of(data.records, ConnectedRecord)), ConnectedRecord())
    spec = data.spec.model_dump(mode="json")
    pct = data.traffic.percentiles_ms()
    components = next(iter(of(data.records, ComponentsRecord)), ComponentsRecord())
    guardrails = next(iter(of(data.records, GuardrailsRecord)), GuardrailsRecord())
    provisioned = next(iter(of(data.records, ProvisionedRecord)), ProvisionedRecord())
    run_id = (head.run_id if isinstance(head, ExperimentRecord) else None) or run_dir
    end_t = max(r.t for r in data.records)
    run = {
        "run_id": run_id, "experiment": data.spec.name, "content_hash": content_hash(spec), "profile": data.spec.cluster.profile or "",
        "target": connected.target or data.spec.target.kind, "region": connected.region or "",
        # where exactly: the AWS account and kubeconfig context on eks, and the cluster's name
        "account": _text(guardrails.account), "context": _text(guardrails.context or connected.kube_context),
        "cluster": _text(provisioned.cluster or data.spec.cluster.name),
        "spotchaos_version": str((head.model_extra or {}).get("version") or __version__), "started": head.wall or "", "duration_s": round(end_t, 3),
        "verdict": str(data.verdict.status), "exit_code": data.verdict.exit_code, "reason": data.verdict.reason[:2000], "complete": data.complete,
        "requests": data.traffic.requests, "errors": data.traffic.errors, "error_rate": round(data.traffic.error_rate, 6),
        "p50_ms": pct.get("p50"), "p99_ms": pct.get("p99"), "max_ms": pct.get("max"), "run_dir": run_dir,
        **{f"{part}_version": _text(getattr(components, part)) for part in COMPONENT_PARTS},
    }
    hypotheses = [{"run_id": run_id, "name": h.name, "check": h.check, "status": str(h.status), "value": h.value, "bound": h.bound,
                   "measured": h.measured} for h in data.verdict.hypotheses]
    milestones = [{"run_id": run_id, "node": m.node or m.instance, "instance": m.instance, "milestone": name, "seconds": m.since_notice(name)}
                  for m in data.nodes for name in MILESTONES if name != "notice" and m.since_notice(name) is not None]
    return RunRows(run, hypotheses, milestones)
