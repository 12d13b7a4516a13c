"""The ownership tag every provisioned AWS resource carries, and how to read it back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OWNER_TAG = "spotchaos:cluster"


def owner_tags(cluster: str) -> list[dict[str, str]]:
    return [{"Key": OWNER_TAG, "Value": cluster}]


def owned_by(tags: Iterable[Mapping[str, Any]] | Mapping[str, str] | None, cluster: str) -> bool:
    """True when `tags` (AWS's [{Key, Value}] list or a plain mapping) carry the owner tag for `cluster`."""
    if not tags:
        return False
    if isinstance(tags, Mapping):
        return tags.get(OWNER_TAG) == cluster
    return any(t.get("Key") == OWNER_TAG and t.get("Value") == cluster for t in tags)
