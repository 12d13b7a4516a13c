"""What a cluster runs, as far as the run history needs it: the API server's version and the
container images of every Deployment and DaemonSet."""

from __future__ import annotations

from typing import Any

from cluster import kube_retry


def versions_and_images(api_client: Any) -> tuple[str | None, list[str]]:
    from kubernetes import client

    version = kube_retry.call(client.VersionApi(api_client).get_code).git_version
    apps = client.AppsV1Api(api_client)
    images: list[str] = []
    for listing in (kube_retry.call(apps.list_deployment_for_all_namespaces), kube_retry.call(apps.list_daemon_set_for_all_namespaces)):
        for item in listing.items:
            images += [c.image for c in item.spec.template.spec.containers or [] if c.image]
    return version, images
