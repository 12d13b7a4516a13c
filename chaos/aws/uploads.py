"""A run's journal and reports put in S3 (`--upload`), with boto3 as the environment configures
it (credentials, region, AWS_ENDPOINT_URL), each put retried on throttling and dropped
connections."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from chaos.aws.faults import aws_retry
from chaos.aws.upload_destination import S3Destination, content_type


def put_files(dest: S3Destination, files: Mapping[str, Path], client: Any | None = None) -> list[str]:
    """`files`: object key -> local file; returns the s3:// URL of each object put."""
    s3 = client or boto3.client("s3")

    @aws_retry
    def put(key: str, path: Path) -> None:
        s3.put_object(Bucket=dest.bucket, Key=key, Body=path.read_bytes(), ContentType=content_type(path.name))

    done = []
    for key, path in files.items():
        put(key, path)
        done.append(dest.url(key))
    return done
