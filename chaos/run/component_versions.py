"""Which versions of the parts that decide a Spot interruption's outcome a cluster runs: its
Kubernetes and the images of NTH, Cluster Autoscaler, Karpenter and the AWS Load Balancer Controller, found
among its Deployments and DaemonSets by the images' repository names (as their charts publish
them).  Recorded with each run, so a trend or a flaky hypothesis can be told apart from an
upgrade.  Pure."""

from __future__ import annotations

from collections.abc import Iterable

# component -> the image repository's last path segment its official images use
REPOSITORIES = {
    "nth": "aws-node-termination-handler",
    "cluster_autoscaler": "cluster-autoscaler",
    "lbc": "aws-load-balancer-controller",
    "karpenter": "karpenter/controller",  # its repository's last segment alone ("controller") names nothing
}
VERSION_MAX = 60


def image_version(image: str) -> str:
    """The tag (or digest) of an image reference; "latest" when it has neither."""
    name, _, digest = image.partition("@")
    if digest:
        return digest[:VERSION_MAX]
    last = name.rsplit("/", 1)[-1]
    return last.partition(":")[2][:VERSION_MAX] or "latest"


def repository(image: str, segments: int = 1) -> str:
    """The image's repository name: its last path segment, or the last `segments` of them."""
    *head, last = image.partition("@")[0].split("/")
    return "/".join([*head, last.partition(":")[0]][-segments:])


def component_versions(kubernetes: str | None, images: Iterable[str]) -> dict[str, str]:
    """{"kubernetes": ..., "nth": ..., "cluster_autoscaler": ..., "lbc": ...}: the parts found (a
    part with several versions running, mid-upgrade, lists them all, sorted)."""
    found: dict[str, set[str]] = {}
    for image in images:
        for part, repo in REPOSITORIES.items():
            if repository(image, repo.count("/") + 1) == repo:
                found.setdefault(part, set()).add(image_version(image))
    out = {"kubernetes": kubernetes[:VERSION_MAX]} if kubernetes else {}
    return out | {part: ",".join(sorted(v))[:VERSION_MAX] for part, v in sorted(found.items())}
