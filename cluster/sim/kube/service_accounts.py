"""Service accounts as a pod sees them (pure).

The ServiceAccount admission plugin (kubernetes plugin/pkg/admission/serviceaccount/admission.go)
sets `serviceAccountName: default` when a pod names none and, unless the pod (or its service
account) sets `automountServiceAccountToken: false`, adds a projected volume
`kube-api-access-<5 random characters>` (a bound token that expires in 3607 s, the namespace's
`kube-root-ca.crt` ConfigMap and the namespace from the downward API) mounted read-only at
/var/run/secrets/kubernetes.io/serviceaccount in every container and init container.  The
ServiceAccount controller creates a `default` ServiceAccount in every namespace, and the root CA
publisher the `kube-root-ca.crt` ConfigMap (kube-controller-manager's serviceaccount and
root-ca-cert-publisher controllers)."""

from __future__ import annotations

from typing import Any

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_S = 3607
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
DEFAULT_SERVICE_ACCOUNT = "default"


def api_access_volume(suffix: str) -> dict[str, Any]:
    return {
        "name": VOLUME_PREFIX + suffix,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_S, "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }


def admit(spec: dict[str, Any], suffix: str) -> None:
    """The admission plugin's changes to a new pod's spec."""
    spec.setdefault("serviceAccountName", DEFAULT_SERVICE_ACCOUNT)
    spec.setdefault("serviceAccount", spec["serviceAccountName"])  # the deprecated alias the API server keeps in step
    if spec.get("automountServiceAccountToken") is False:
        return
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    if any(m.get("mountPath") == MOUNT_PATH for c in containers for m in c.get("volumeMounts") or []):
        return  # the pod mounts something there itself
    volume = api_access_volume(suffix)
    spec["volumes"] = [*(spec.get("volumes") or []), volume]
    for c in containers:
        c["volumeMounts"] = [*(c.get("volumeMounts") or []), {"name": volume["name"], "readOnly": True, "mountPath": MOUNT_PATH}]
