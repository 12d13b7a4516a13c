"""The ownership tag every provisioned AWS resource carries, and how to read it back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OWNER_TAG = "spotchaos:cluster"


def owner_tags(cluster: str, extra: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The owner tag, then `extra` (the profile's tags: a run's id, users' cost tags); the owner tag wins."""
    more = [{"Key": k, "Value": v} for k, v in (extra or {}).items() if k != OWNER_TAG]
    return [{"Key": OWNER_TAG, "Value": cluster}, *more]


def owner_tag_map(cluster: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The same tags as a plain mapping, as EKS and SQS take them."""
    return {t["Key"]: t["Value"] for t in owner_tags(cluster, extra)}


def owned_by(tags: Iterable[Mapping[str, Any]] | Mapping[str, str] | None, cluster: str) -> bool:
    """True when `tags` (AWS's [{Key, Value}] list or a plain mapping) carry the owner tag for `cluster`."""
    if not tags:
        return False
    if isinstance(tags, Mapping):
        return tags.get(OWNER_TAG) == cluster
    return any(t.get("Key") == OWNER_TAG and t.get("Value") == cluster for t in tags)
