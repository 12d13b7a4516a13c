"""A run's metrics put in CloudWatch (`--metrics cloudwatch://NAMESPACE`), with boto3 as the
environment configures it (credentials, region, AWS_ENDPOINT_URL), in batches PutMetricData
takes, each retried on throttling and dropped connections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3

from chaos.aws.faults import aws_retry

BATCH = 20  # metric data per PutMetricData call (the API's limit before 2023; newer accounts take 1000)


def put_metric_data(namespace: str, metric_data: Sequence[dict[str, Any]], client: Any | None = None) -> int:
    """Put every datum; returns how many were put."""
    cloudwatch = client or boto3.client("cloudwatch")

    @aws_retry
    def put(batch: list[dict[str, Any]]) -> None:
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)

    for start in range(0, len(metric_data), BATCH):
        put(list(metric_data[start: start + BATCH]))
    return len(metric_data)
