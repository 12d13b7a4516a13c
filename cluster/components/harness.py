"""The harness's own image, recognised in a pod (the load shards, the in-cluster runner): the
simulator runs its containers as real processes of this installation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

IMAGE_MARK = "spotchaos"  # ghcr.io/<org>/spotchaos:<version>, or any image named spotchaos


def is_harness(container: Mapping[str, Any]) -> bool:
    image = str(container.get("image", ""))
    return IMAGE_MARK in image.rsplit("/", 1)[-1].split(":")[0]
