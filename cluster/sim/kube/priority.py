"""The Priority admission plugin (pure): a pod's `priorityClassName` resolved to its integer
`priority` and `preemptionPolicy` from the PriorityClass, the built-in system classes included; a
pod that names none gets the globalDefault class's, else priority 0; a name no class has is
refused.  Source: kubernetes plugin/pkg/admission/priority/admission.go (admitPod) and
pkg/apis/scheduling (SystemCriticalPriority, the system-cluster-critical and system-node-critical
classes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SYSTEM_CRITICAL = 2_000_000_000
BUILT_IN = {"system-cluster-critical": SYSTEM_CRITICAL, "system-node-critical": SYSTEM_CRITICAL + 1000}
DEFAULT_POLICY = "PreemptLowerPriority"


def admit(pod_name: str, spec: dict[str, Any], classes: Iterable[Mapping[str, Any]]) -> str | None:
    """Set the pod spec's priority and preemptionPolicy; the refusal's message, or None."""
    by_name = {str((c.get("metadata") or {}).get("name")): c for c in classes}
    name = spec.get("priorityClassName")
    if name:
        if name in BUILT_IN:
            value, policy = BUILT_IN[name], DEFAULT_POLICY
        elif name in by_name:
            value, policy = int(by_name[name].get("value", 0)), str(by_name[name].get("preemptionPolicy") or DEFAULT_POLICY)
        else:
            return f'pods "{pod_name}" is forbidden: no PriorityClass with name {name} was found'
    else:
        default = next((c for c in by_name.values() if c.get("globalDefault") is True), None)
        value = int(default.get("value", 0)) if default else 0
        policy = str(default.get("preemptionPolicy") or DEFAULT_POLICY) if default else DEFAULT_POLICY
        if default is not None:
            spec["priorityClassName"] = (default.get("metadata") or {}).get("name")
    if spec.get("priority") not in (None, value):
        return (f'pods "{pod_name}" is forbidden: the integer value of priority ({spec["priority"]}) must not be provided in pod spec; '
                f"priority admission controller computed {value} from the given PriorityClass name")
    spec["priority"] = value
    spec.setdefault("preemptionPolicy", policy)
    return None
