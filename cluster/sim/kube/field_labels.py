"""The field labels the API server lets a field selector use, per kind, and where each reads in
the object (kubernetes pkg/registry/*/strategy.go `ToSelectableFields` / `GetAttrs`, and the
conversion funcs registered with AddFieldLabelConversionFunc).  Every kind has metadata.name and
metadata.namespace; a label not in the table is refused with 400 "field label not supported".
Pure."""

from __future__ import annotations

COMMON = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}

BY_KIND: dict[str, dict[str, tuple[str, ...]]] = {
    "Event": {  # pkg/registry/core/event/strategy.go
        "involvedObject.kind": ("involvedObject", "kind"), "involvedObject.namespace": ("involvedObject", "namespace"),
        "involvedObject.name": ("involvedObject", "name"), "involvedObject.uid": ("involvedObject", "uid"),
        "involvedObject.apiVersion": ("involvedObject", "apiVersion"), "involvedObject.resourceVersion": ("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": ("involvedObject", "fieldPath"), "reason": ("reason",), "reportingComponent": ("reportingComponent",),
        "source": ("source", "component"), "type": ("type",),
    },
    "Pod": {  # pkg/registry/core/pod/strategy.go
        "spec.nodeName": ("spec", "nodeName"), "spec.restartPolicy": ("spec", "restartPolicy"), "spec.schedulerName": ("spec", "schedulerName"),
        "spec.serviceAccountName": ("spec", "serviceAccountName"), "spec.hostNetwork": ("spec", "hostNetwork"), "status.phase": ("status", "phase"),
        "status.podIP": ("status", "podIP"), "status.nominatedNodeName": ("status", "nominatedNodeName"),
    },
    "Node": {"spec.unschedulable": ("spec", "unschedulable")},
    "Namespace": {"status.phase": ("status", "phase")},
    "Secret": {"type": ("type",)},
    "ReplicaSet": {"status.replicas": ("status", "replicas")},
    "Job": {"status.successful": ("status", "succeeded")},
    "CertificateSigningRequest": {"spec.signerName": ("spec", "signerName")},
}


# what a field reads when the object leaves it out: the API server formats the typed field, so an
# unset bool is "false" and an unset count "0" (a node never cordoned matches spec.unschedulable=false)
ZERO: dict[tuple[str, ...], str] = {("spec", "unschedulable"): "false", ("spec", "hostNetwork"): "false",
                                    ("status", "replicas"): "0", ("status", "succeeded"): "0"}


def zero_value(path: tuple[str, ...]) -> str:
    return ZERO.get(path, "")


def field_path(kind: str, label: str) -> tuple[str, ...] | None:
    """Where `label` reads in an object of `kind`; None when the API server does not support it."""
    return COMMON.get(label) or BY_KIND.get(kind, {}).get(label)
