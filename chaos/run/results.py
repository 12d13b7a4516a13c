"""Where a finished run's results go besides its directory: the run history (and the comparison
with its baseline), S3 (`--upload`), a webhook (`--notify`) and monitoring (`--metrics`: a
Pushgateway or CloudWatch).  None of them can change the
verdict or lose the run: each failure comes back as a warning line, and the run's directory
keeps everything (`spotchaos history import` records a run the store missed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos import api_errors
from chaos.aws.upload_destination import S3Destination
from chaos.delivery.metrics import MetricsDestination, push
from chaos.delivery.notification import should_notify, summary
from chaos.delivery.webhook import WebhookFailed, post_json
from chaos.history.store import record_and_compare, record_uploads
from chaos.journal.records import ExperimentRecord
from chaos.redaction import redact_urls
from chaos.report.data import ReportData
from chaos.report.metrics import samples
from chaos.report.write import METRICS_FILE


@dataclass(frozen=True)
class Destinations:
    history: str | None = None  # an SQLAlchemy URL, "off", or None for the default store
    upload: S3Destination | None = None
    notify: str | None = None  # a webhook URL (checked by chaos.delivery.webhook.check_url)
    notify_always: bool = False
    metrics: tuple[MetricsDestination, ...] = ()  # a Pushgateway, CloudWatch (chaos.delivery.metrics.parse_metrics_url)


@dataclass
class Delivered:
    warnings: list[str] = field(default_factory=list)
    regressions: list[Any] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    notified: int | None = None  # the receiver's HTTP status
    metrics: list[str] = field(default_factory=list)  # what went where


def deliver(data: ReportData, directory: Path, reports: dict[str, Path], to: Destinations, s3_client: Any | None = None,
            as_expected: bool | None = None) -> Delivered:
    """`as_expected`: see notification.should_notify (the pytest plugin judges runs by their `expect`)."""
    out = Delivered()
    head = data.records[0] if data.records else None
    run_id = (head.run_id if isinstance(head, ExperimentRecord) else None) or directory.name
    problem, out.regressions = record_and_compare(data, directory, to.history, reports.get("markdown"))
    if problem:
        out.warnings.append(f"not recorded in the run history: {problem}")
    if to.upload is not None:
        files = {to.upload.key(run_id, p.name): p for p in [directory / "journal.jsonl", *reports.values()] if p.is_file()}
        try:
            from chaos.aws.uploads import put_files

            out.uploaded = put_files(to.upload, files, s3_client)
        except (*api_errors.sdk_errors(), OSError) as exc:
            out.warnings.append(f"upload to s3://{to.upload.bucket}/{to.upload.prefix} failed: {api_errors.describe(exc)}; the files are in {directory}")
        if out.uploaded:
            problem = record_uploads(run_id, out.uploaded, to.history)
            if problem:
                out.warnings.append(f"uploads not recorded in the run history: {problem}")
    if to.notify and should_notify(data.verdict.status, bool(out.regressions), to.notify_always, as_expected):
        html = to.upload.url(to.upload.key(run_id, "report.html")) if out.uploaded and to.upload else str(reports.get("html", directory).resolve())
        try:
            out.notified = post_json(to.notify, summary(data, out.regressions, html))
        except WebhookFailed as exc:
            out.warnings.append(f"notification not sent: {exc}")
    if to.metrics:
        found = samples(data)
        for dest in to.metrics:
            try:
                out.metrics.append(push(dest, found))
            except Exception as exc:  # noqa: BLE001 - a gateway down or refusing: a warning, the run's files keep the metrics
                out.warnings.append(f"metrics not sent to {dest}: {api_errors.describe(exc)}; {directory / METRICS_FILE} has them")
    out.warnings = [redact_urls(w) for w in out.warnings]
    return out
