"""Where `--upload s3://bucket/prefix` puts a run's files: the destination parsed (with a clear
error for anything else) and one object key per file, `<prefix>/<run id>/<file name>`.  Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from chaos.errors import ChaosError

# S3's bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens,
# beginning and ending with a letter or digit
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json", ".xml": "application/xml",
                 ".md": "text/markdown; charset=utf-8", ".jsonl": "application/x-ndjson", ".png": "image/png",
                 ".txt": "text/plain; charset=utf-8"}  # metrics.openmetrics.txt: OpenMetrics text


class UploadInputError(ChaosError):
    """--upload is not an S3 URL we can write to; the message names the fix."""


@dataclass(frozen=True)
class S3Destination:
    bucket: str
    prefix: str  # without leading or trailing slashes; may be empty

    def key(self, run_id: str, name: str) -> str:
        return "/".join(p for p in (self.prefix, run_id, name) if p)

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def parse_s3_url(text: str) -> S3Destination:
    shown = text if len(text) <= 80 else text[:77] + "..."
    parsed = urlparse(text)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise UploadInputError(f"--upload: {shown!r} is not an S3 URL; give s3://BUCKET/PREFIX")
    if not BUCKET.match(parsed.netloc) or ".." in parsed.netloc:
        raise UploadInputError(f"--upload: {parsed.netloc[:63]!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, dots or hyphens)")
    if parsed.query or parsed.fragment:
        raise UploadInputError(f"--upload: {shown!r} has a query or fragment; give s3://BUCKET/PREFIX")
    return S3Destination(parsed.netloc, parsed.path.strip("/"))


def content_type(name: str) -> str:
    return CONTENT_TYPES.get("." + name.rsplit(".", 1)[-1] if "." in name else "", "application/octet-stream")
