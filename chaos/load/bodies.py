"""Request bodies for the TF Serving predict API: a real JPEG as base64 (as the seed's ResNet
client sends it) or a numeric tensor; or a user's own file."""

from __future__ import annotations

import base64
import json
from importlib import resources
from pathlib import Path

from chaos.load.engine import LoadError
from cluster.user_yaml import not_a_regular_file

BODY_KINDS = "image | tensor | none | @FILE"
MAX_BODY_BYTES = 16 * 1024 * 1024


def sample_jpeg() -> bytes:
    return resources.files("chaos.load").joinpath("data/sample.jpg").read_bytes()


def image_body(jpeg: bytes | None = None) -> bytes:
    return json.dumps({"instances": [{"b64": base64.b64encode(jpeg or sample_jpeg()).decode()}]}).encode()


def tensor_body(size: int = 16) -> bytes:
    return json.dumps({"instances": [[round(i / size, 4) for i in range(size)]]}).encode()


def body_for(kind: str) -> bytes | None:
    """The request body named on the command line; None means a GET without a body."""
    if kind == "image":
        return image_body()
    if kind == "tensor":
        return tensor_body()
    if kind == "none":
        return None
    if kind.startswith("@"):
        path = Path(kind[1:])
        problem = not_a_regular_file(path)
        if problem is not None:
            raise LoadError(f"--body {kind}: {path} {problem}")
        try:
            with path.open("rb") as f:
                data = f.read(MAX_BODY_BYTES + 1)
        except OSError as exc:
            raise LoadError(f"--body {kind}: cannot read {path}: {exc.strerror}") from None
        if len(data) > MAX_BODY_BYTES:
            raise LoadError(f"--body {kind}: larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB; a request body that size is not a predict request")
        return data
    raise LoadError(f"--body '{kind}': use one of {BODY_KINDS}")
