"""A profile rendered to the Kubernetes objects to apply, in apply order, and checked against
the real Kubernetes schemas (kubernetes-validate) for the profile's Kubernetes version."""

from __future__ import annotations

from typing import Any

from cluster import resource_names as names
from cluster.manifests import cluster_autoscaler, controllers, identity, karpenter, nth, serving
from cluster.profiles import ClusterProfile

Obj = dict[str, Any]


class ManifestError(ValueError):
    """A rendered object the Kubernetes schema rejects (names the object and the field)."""


def render(profile: ClusterProfile, account: str = names.DEFAULT_ACCOUNT) -> list[Obj]:
    """The objects for `profile` in the AWS account `account` (IRSA role ARNs, NTH's queue URL)."""
    sp = profile.serving
    on_demand = next((g.labels for g in profile.node_groups if not g.spot), {})
    control = {"lifecycle": on_demand["lifecycle"]} if "lifecycle" in on_demand else {}
    objects: list[Obj | None] = [
        serving.namespace(sp),
        identity.aws_auth(account, profile.name),
        *identity.add_on_identities(profile.name, account, profile.nth.mode == "queue", profile.metrics_server, profile.nth.mode != "none",
                                    autoscaler=profile.karpenter is None),
        *controllers.load_balancer_controller(profile.name, control, profile.region),
        *(controllers.metrics_server(control) if profile.metrics_server else []),
        *([*karpenter.crds(), *karpenter.controller(profile, account, control), karpenter.node_class(profile), karpenter.node_pool(profile, dict(sp.node_selector))]
          if profile.karpenter is not None else []),
        nth.imds_daemonset(profile.nth.settings) if profile.nth.mode == "imds"
        else nth.queue_deployment(names.nth_queue_url(profile.region, account, profile.name), profile.nth.settings) if profile.nth.mode == "queue"
        else None,
        cluster_autoscaler.deployment(profile.name, flags=dict(profile.cluster_autoscaler_flags), node_selector=control or None, region=profile.region)
        if profile.karpenter is None else None,
        serving.credentials(sp, profile.name, account),
        serving.deployment(sp, profile.region),
        serving.service(sp),
        serving.pdb(sp),
        serving.hpa(sp),
        serving.ingress(sp),
    ]
    if "priority" in str(profile.cluster_autoscaler_flags.get("expander", "")):
        spot = [f".*{g.name}.*" for g in profile.spot_groups]
        od = [f".*{g.name}.*" for g in profile.node_groups if not g.spot]
        ca_at = next(i for i, o in enumerate(objects) if o and o["kind"] == "Deployment" and o["metadata"]["name"] == cluster_autoscaler.NAME)
        objects.insert(ca_at, cluster_autoscaler.priority_expander_configmap({50: spot, 10: od}))
    return [o for o in objects if o is not None]


def validate(objects: list[Obj], kubernetes_version: str) -> None:
    """Raise ManifestError for the first object the real schema rejects."""
    import kubernetes_validate

    from cluster.manifests.schemas import validate_strict

    for obj in objects:
        if obj["kind"] in karpenter.CRD_KINDS:
            try:
                karpenter.check(obj)
            except ValueError as exc:
                raise ManifestError(str(exc)) from None
            continue
        try:
            validate_strict(obj, kubernetes_version)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path) or "(top level)"
            raise ManifestError(f"{obj['kind']} {obj['metadata'].get('name')}: {where}: {exc.message}") from None
        except kubernetes_validate.SchemaNotFoundError as exc:
            raise ManifestError(f"{obj['kind']} {obj['metadata'].get('name')}: no schema for {obj['apiVersion']} in Kubernetes {kubernetes_version}: {exc}") from None
