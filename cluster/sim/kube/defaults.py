"""Defaulting the API server applies on create (pure, but for the names and ids it is given)."""

from __future__ import annotations

import random
import uuid
from typing import Any

from cluster.sim.kube.resources import ResourceType
from cluster.sim.kube.reviews import USER
from cluster.sim.kube.service_accounts import admit as admit_service_account

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # what the real generateName suffixes use


def random_suffix(n: int = 5, rng: random.Random | None = None) -> str:
    r = rng or random
    return "".join(r.choice(_NAME_CHARS) for _ in range(n))


def new_uid() -> str:
    return str(uuid.uuid4())


def default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    tolerations = spec.setdefault("tolerations", [])
    # DefaultTolerationSeconds admission: tolerate not-ready/unreachable NoExecute for 300 s.
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        _quantities_as_strings(c.get("resources"))
    for c in spec.get("containers", []):
        c.setdefault("imagePullPolicy", "Always" if str(c.get("image", "")).endswith(":latest") or ":" not in str(c.get("image", "")) else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for p in c.get("ports") or []:
            p.setdefault("protocol", "TCP")


def quantity_string(value: Any) -> Any:
    """A resource quantity as the API server serializes it: always a string (`cpu: 1` in a
    manifest is "1" when read back; 0.5 is "500m"); anything else is left for validation."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


def _quantities_as_strings(resources: Any) -> None:
    if not isinstance(resources, dict):
        return
    for part in ("requests", "limits"):
        values = resources.get(part)
        if isinstance(values, dict):
            for k, v in values.items():
                values[k] = quantity_string(v)


def normalize_template(spec: Any) -> None:
    """A pod template's `metadata.creationTimestamp: null` (what kubectl's patches write) is the
    zero time the API server's typed decoding makes of it: the same template as without it."""
    meta = ((spec or {}).get("template") or {}).get("metadata") if isinstance(spec, dict) else None
    if isinstance(meta, dict) and "creationTimestamp" in meta and meta["creationTimestamp"] is None:
        del meta["creationTimestamp"]


def _default_template(spec: dict[str, Any]) -> None:
    normalize_template(spec)
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    default_pod_spec(template.setdefault("spec", {}))


# the status a new object has before its controller writes one: the real API server serializes the
# fields that are not omitempty (zeros), so a client that requires them finds them
INITIAL_STATUS: dict[str, dict[str, Any]] = {
    "Deployment": {},
    "ReplicaSet": {"replicas": 0},
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
    "StatefulSet": {"replicas": 0, "availableReplicas": 0},
    "HorizontalPodAutoscaler": {"currentReplicas": 0, "desiredReplicas": 0},
}


def apply_defaults(rt: ResourceType, obj: dict[str, Any]) -> None:
    spec = obj.get("spec")
    if rt.kind in INITIAL_STATUS and not obj.get("status"):
        obj["status"] = dict(INITIAL_STATUS[rt.kind])
    if rt.kind == "Pod":
        default_pod_spec(obj.setdefault("spec", {}))
        obj["spec"].setdefault("priority", 0)  # a pod's own (the Priority admission sets it from its class); templates carry none
        admit_service_account(obj["spec"], random_suffix())
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status.setdefault("qosClass", "Burstable")
    elif rt.kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        _default_template(spec)
    elif rt.kind == "ReplicaSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _default_template(spec)
    elif rt.kind == "StatefulSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        _default_template(spec)
    elif rt.kind == "DaemonSet" and isinstance(spec, dict):
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        _default_template(spec)
    elif rt.kind == "Service":
        s = obj.setdefault("spec", {})
        s.setdefault("type", "ClusterIP")
        s.setdefault("sessionAffinity", "None")
        for p in s.get("ports") or []:
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
        if s["type"] in ("LoadBalancer", "NodePort"):
            s.setdefault("externalTrafficPolicy", "Cluster")
        obj.setdefault("status", {"loadBalancer": {}})
    elif rt.kind == "CertificateSigningRequest" and isinstance(spec, dict):
        spec["username"], spec["groups"] = USER["username"], list(USER["groups"])  # the API server writes who asked
    elif rt.kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
    elif rt.kind == "Node":
        obj.setdefault("spec", {})
        obj.setdefault("status", {})
    elif rt.kind == "PodDisruptionBudget":
        obj.setdefault("status", {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0})
