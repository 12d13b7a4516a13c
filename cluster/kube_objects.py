"""The cluster's Kubernetes objects through the kubernetes client: created, counted and deleted
for provisioning and teardown, and the readiness `provision` waits for (nodes, replicas, the
ALB answering predictions)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client, config, utils
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import FailToCreateError

from cluster.endpoints import Endpoints
from cluster.kube_discovery import dynamic_client
from cluster.kube_retry import call as kube_call
from cluster.manifests.karpenter import CRD_KINDS
from cluster.manifests.render import render
from cluster.manifests.serving import predict_path
from cluster.nodegroups import group_name
from cluster.profiles import ClusterProfile

# Left in place by teardown: a CRD is installed with its add-on's chart (Karpenter's) and deleting it
# deletes every object of its kind in the cluster, the team's own NodePools with ours.
KEPT_KINDS = frozenset({"CustomResourceDefinition"})


class ProvisionError(RuntimeError):
    """Provisioning could not finish; the message says what is missing."""


def nodes_left(profile: ClusterProfile, endpoints: Endpoints) -> int:
    """The profile's nodes still registered: its groups', and those Karpenter launched (one being
    deleted whose finalizer no Karpenter will lift any more counts as gone)."""

    groups = {g.name for g in profile.node_groups}
    core = client.CoreV1Api(kube_client(endpoints))
    return sum(1 for n in core.list_node().items
               if (n.metadata.labels or {}).get("eks.amazonaws.com/nodegroup") in groups
               or ("karpenter.sh/nodepool" in (n.metadata.labels or {}) and n.metadata.deletion_timestamp is None))


def node_claims_left(pools: list[str], endpoints: Endpoints) -> int:
    """NodeClaims of these NodePools (Karpenter's nodes) still in the cluster."""

    claims = kube_call(client.CustomObjectsApi(kube_client(endpoints)).list_cluster_custom_object, "karpenter.sh", "v1", "nodeclaims")["items"]
    return sum(1 for c in claims if (c["metadata"].get("labels") or {}).get("karpenter.sh/nodepool") in pools)


def namespaces_left(profile: ClusterProfile, endpoints: Endpoints) -> int:
    """The profile's own namespaces still there (terminating until their objects are gone): a
    provision into a terminating namespace is refused (403), so teardown waits them out."""

    own = {o["metadata"]["name"] for o in render(profile) if o["kind"] == "Namespace"} - {"default", "kube-system"}
    core = client.CoreV1Api(kube_client(endpoints))
    return sum(1 for n in core.list_namespace().items if n.metadata.name in own)


def kube_client(endpoints: Endpoints) -> Any:

    return config.new_client_from_config(config_file=endpoints.kubeconfig, context=endpoints.kube_context)


def serves_group(endpoints: Endpoints, group: str) -> bool:

    return any(g.name == group for g in client.ApisApi(kube_client(endpoints)).get_api_versions().groups or [])


def apply_objects(objects: list[dict[str, Any]], endpoints: Endpoints) -> int:
    """Create each object (an existing one is left as it is); returns how many were created."""

    api = kube_client(endpoints)
    created = 0
    for obj in objects:
        if obj["kind"] in CRD_KINDS:  # custom resources (Karpenter's): the typed helpers have no class for them
            try:
                resource = kube_call(dynamic_client(api).resources.get, api_version=obj["apiVersion"], kind=obj["kind"])
                kube_call(resource.create, body=obj)
                created += 1
            except ApiException as exc:
                if exc.status != 409:
                    raise ProvisionError(f"{obj['kind']} {obj['metadata']['name']}: {exc.reason}: {exc.body}") from None
            continue
        try:
            kube_call(utils.create_from_dict, api, obj, namespace=obj["metadata"].get("namespace", "default"))
            created += 1
        except FailToCreateError as exc:
            if all(getattr(e, "status", None) == 409 for e in exc.api_exceptions):
                continue
            raise ProvisionError(f"{obj['kind']} {obj['metadata']['name']}: {exc.api_exceptions[0].reason}: {exc.api_exceptions[0].body}") from None
    return created


def stamped(objects: list[dict[str, Any]], labels: Mapping[str, str], annotations: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Copies of `objects` carrying `labels` and `annotations` on their own metadata (not on pod
    templates: selectors stay as rendered)."""
    out = []
    for obj in objects:
        meta = {**obj["metadata"], "labels": {**(obj["metadata"].get("labels") or {}), **labels}}
        if annotations:
            meta["annotations"] = {**(obj["metadata"].get("annotations") or {}), **annotations}
        out.append({**obj, "metadata": meta})
    return out


def delete_labelled(kinds: list[tuple[str, str]], selector: str, endpoints: Endpoints) -> list[str]:
    """Every object of `kinds` ((apiVersion, kind), in creation order) that `selector` matches,
    deleted in reverse order, namespaces last: what a run created, found without its manifests."""

    dyn = kube_call(dynamic_client, kube_client(endpoints))
    found: list[tuple[Any, dict[str, Any]]] = []
    for api_version, kind in dict.fromkeys(k for k in kinds if k[1] not in KEPT_KINDS):
        resource = kube_call(dyn.resources.get, api_version=api_version, kind=kind)
        items = kube_call(resource.get, label_selector=selector).to_dict().get("items") or []
        found += [(resource, item) for item in items]
    done = []
    for resource, item in sorted(reversed(found), key=lambda pair: pair[1].get("kind") == "Namespace" or not pair[0].namespaced):
        meta = item["metadata"]
        try:
            kube_call(resource.delete, name=meta["name"], namespace=meta.get("namespace") if resource.namespaced else None)
            done.append(f"{resource.kind} {meta['name']}")
        except ApiException as exc:
            if exc.status != 404:
                raise
    return done


def delete_objects(objects: list[dict[str, Any]], endpoints: Endpoints) -> list[str]:

    dyn = kube_call(dynamic_client, kube_client(endpoints))
    done = []
    for obj in reversed(objects):
        if (obj["kind"] == "Namespace" and obj["metadata"]["name"] in ("default", "kube-system")) or obj["kind"] in KEPT_KINDS:
            continue
        try:
            resource = kube_call(dyn.resources.get, api_version=obj["apiVersion"], kind=obj["kind"])
            ns = obj["metadata"].get("namespace") if resource.namespaced else None
            kube_call(resource.delete, name=obj["metadata"]["name"], namespace=ns)
            done.append(f"{obj['kind']} {obj['metadata']['name']}")
        except ApiException as exc:
            if exc.status != 404:
                raise
    return done


def readiness_checks(profile: ClusterProfile, api: Any, autoscaling: Any) -> list[tuple[str, Callable[[], tuple[int, int]]]]:
    core, apps, net = client.CoreV1Api(api), client.AppsV1Api(api), client.NetworkingV1Api(api)
    sp = profile.serving
    groups = {g.name for g in profile.node_groups}
    asg_names = [group_name(profile.name, g.name) for g in profile.node_groups]

    def want_nodes() -> int:
        # the groups' desired capacity now: the Cluster Autoscaler may have moved it since creation
        found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=asg_names)["AutoScalingGroups"]
        return sum(g["DesiredCapacity"] for g in found) if found else sum(g.desired for g in profile.node_groups)

    def nodes() -> tuple[int, int]:
        # the groups' nodes, and every node Karpenter launched (the serving pods' replicas wait for those)
        items = [n for n in core.list_node().items if (n.metadata.labels or {}).get("eks.amazonaws.com/nodegroup") in groups]
        launched = [n for n in core.list_node().items if "karpenter.sh/nodepool" in (n.metadata.labels or {})]
        ready = sum(1 for n in items + launched if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []))
        return ready, want_nodes() + len(launched)

    def replicas() -> tuple[int, int]:
        try:
            d = apps.read_namespaced_deployment(sp.name, sp.namespace)
        except Exception:
            return 0, sp.replicas
        # the HPA owns the replica count once the Deployment exists
        return (d.status.ready_replicas if d.status else 0) or 0, d.spec.replicas if d.spec.replicas is not None else sp.replicas

    def alb() -> tuple[int, int]:
        url = ingress_url(net, sp.namespace, sp.service_name, predict_path(sp))
        if url is None:
            return 0, 1
        body = json.dumps({"instances": [[0.0, 0.5, 1.0]]}).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=5) as resp:
                return (1 if resp.status == 200 else 0), 1
        except Exception:
            return 0, 1

    return [("nodes Ready", nodes), (f"{sp.name} replicas Ready", replicas), ("ALB answering predictions", alb)]


def twin_readiness_checks(api: Any, autoscaling: Any, groups: list[str], namespace: str, deployment: str, ingress: str,
                          path: str) -> list[tuple[str, Callable[[], tuple[int, int]]]]:
    """A twin's: its groups' nodes Ready (as many as they want now), the service's replicas Ready
    and its Ingress's load balancer answering the path."""
    core, apps, net = client.CoreV1Api(api), client.AppsV1Api(api), client.NetworkingV1Api(api)

    def nodes() -> tuple[int, int]:
        found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=groups)["AutoScalingGroups"] if groups else []
        want = sum(g["DesiredCapacity"] for g in found)
        ready = sum(1 for n in core.list_node().items if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []))
        return min(ready, want), want

    def replicas() -> tuple[int, int]:
        try:
            d = apps.read_namespaced_deployment(deployment, namespace)
        except Exception:
            return 0, 1
        want = d.spec.replicas if d.spec.replicas is not None else 1
        return min((d.status.ready_replicas if d.status else 0) or 0, want), want

    def alb() -> tuple[int, int]:
        url = ingress_url(net, namespace, ingress, path)
        if url is None:
            return 0, 1
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=5) as resp:
                return (1 if resp.status < 500 else 0), 1
        except urllib.error.HTTPError as exc:
            return (1 if exc.code < 500 else 0), 1
        except Exception:
            return 0, 1

    return [("nodes Ready", nodes), (f"{namespace}/{deployment} replicas Ready", replicas), (f"Ingress {namespace}/{ingress} answering", alb)]


def warnings_about(api: Any, namespace: str, names: set[str], most: int = 3) -> list[str]:
    """The latest Warning events about the named objects of a namespace, "Kind name: Reason: message"."""
    try:
        events = client.CoreV1Api(api).list_namespaced_event(namespace, field_selector="type=Warning").items
    except Exception:
        return []
    about = [e for e in events if e.involved_object and e.involved_object.name in names]
    about.sort(key=lambda e: str(e.last_timestamp or e.event_time or ""), reverse=True)
    return [f"{e.involved_object.kind} {e.involved_object.name}: {e.reason}: {e.message}" for e in about[:most]]


def ingress_url(net: Any, namespace: str, name: str, path: str) -> str | None:
    """The service's URL from the Ingress status, as on EKS (address, and port when not 80)."""
    try:
        ing = net.read_namespaced_ingress(name, namespace)
    except Exception:
        return None
    entries = (ing.status and ing.status.load_balancer and ing.status.load_balancer.ingress) or []
    if not entries:
        return None
    host = entries[0].hostname or entries[0].ip
    port = entries[0].ports[0].port if entries[0].ports else 80
    return f"http://{host}{'' if port == 80 else f':{port}'}{path}"
