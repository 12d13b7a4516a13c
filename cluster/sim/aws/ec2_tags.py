"""A resource's EC2 tags read by its id: moto's TaggedEC2Resource.get_tags asks describe_tags
with a resource-id filter, which scans every tag of the region, for every resource a Describe*
answer serializes, so DescribeInstances cost instances x tags.  The same entries, found by id."""

from __future__ import annotations

from typing import Any

from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

from cluster.sim.aws.moto_patches import MotoPatches


def tags_by_id(resource: Any) -> list[dict[str, str]]:
    rid = getattr(resource, "id", None)
    if not rid:
        return []
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(rid), "")
    return [{"resource_id": rid, "key": key, "value": value, "resource_type": kind}
            for key, value in resource.ec2_backend.tags.get(rid, {}).items()]


def install(patches: MotoPatches) -> None:
    patches.replace(TaggedEC2Resource, "get_tags", tags_by_id)
