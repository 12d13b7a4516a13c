"""What a simulator kept running holds, recorded in its own Kubernetes API (a ConfigMap in
kube-system per cluster built in it): a digest of what the cluster was built from, so that a later
run reuses it only when it would build the very same one.  Provisioning leaves what exists as it
is (a Deployment already there keeps its replicas, a PDB already there stays), so a run of other
settings over it would measure a cluster it did not ask for.  Every call retried as the rest of
provisioning's are (cluster/kube_retry.py)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cluster.kube_retry import call as kube_call

NAMESPACE = "kube-system"


def digest_of(value: Any) -> str:
    """A digest of JSON-able `value`, keys sorted."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def record_name(cluster: str) -> str:
    """The ConfigMap that records a profile's cluster of this name."""
    return "spotchaos-cluster-" + re.sub(r"[^a-z0-9.-]", "-", cluster.lower())[:200]


def read_held(api: Any, name: str) -> dict[str, str] | None:
    """The record `name` (None: nothing recorded under it)."""
    try:
        found = kube_call(client.CoreV1Api(api).read_namespaced_config_map, name, NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(found.data or {})


def record_held(api: Any, name: str, data: dict[str, str]) -> None:
    """Record `data` under `name`, stamped with the time it was built, unless a record is there
    already (the first one stays: a cluster is never recorded as what was built over it)."""
    body: Any = {"metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "spotchaos"}},
                 "data": {**data, "builtAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}
    try:
        kube_call(client.CoreV1Api(api).create_namespaced_config_map, NAMESPACE, body)
    except ApiException as exc:
        if exc.status != 409:
            raise


def forget_held(api: Any, name: str) -> None:
    try:
        kube_call(client.CoreV1Api(api).delete_namespaced_config_map, name, NAMESPACE)
    except ApiException as exc:
        if exc.status != 404:
            raise
