"""aws-node-termination-handler's configuration, read from the env vars of its container exactly
as pkg/config/config.go reads them (names and defaults), pure.

config.go's getEnv gives the default for an empty value; getBoolEnv uses strconv.ParseBool and
getIntEnv strconv.Atoi, and both panic on anything else (NTH exits at start: the pod crash-loops).
Env var names are case-sensitive: `cordon_only` is not CORDON_ONLY."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cluster.components.go_values import atoi, parse_bool

IMAGE_MARK = "aws-node-termination-handler"
DEFAULT_METADATA_URL = "http://169.254.169.254"
MANAGED_TAG = "aws-node-termination-handler/managed"


class NthConfigError(ValueError):
    """An env var NTH would refuse at start-up (it exits; the pod crash-loops)."""


@dataclass(frozen=True)
class NthConfig:
    queue_mode: bool = False
    queue_url: str = ""
    aws_region: str = ""
    aws_endpoint: str = ""
    instance_metadata_url: str = DEFAULT_METADATA_URL
    enable_spot_interruption_draining: bool = True
    enable_scheduled_event_draining: bool = True
    enable_rebalance_monitoring: bool = False
    enable_rebalance_draining: bool = False
    cordon_only: bool = False
    taint_node: bool = False
    taint_effect: str = "NoSchedule"
    enable_out_of_service_taint: bool = False
    exclude_from_load_balancers: bool = False
    pod_termination_grace_period: int = -1
    node_termination_grace_period: int = 120
    ignore_daemon_sets: bool = True
    delete_local_data: bool = True
    dry_run: bool = False
    emit_kubernetes_events: bool = False
    check_tag_before_draining: bool = True
    managed_tag: str = MANAGED_TAG
    use_provider_id: bool = False
    kubernetes_events_extra_annotations: str = ""


_BOOLS = {
    "ENABLE_SPOT_INTERRUPTION_DRAINING": "enable_spot_interruption_draining",
    "ENABLE_SCHEDULED_EVENT_DRAINING": "enable_scheduled_event_draining",
    "ENABLE_REBALANCE_MONITORING": "enable_rebalance_monitoring",
    "ENABLE_REBALANCE_DRAINING": "enable_rebalance_draining",
    "ENABLE_SQS_TERMINATION_DRAINING": "queue_mode",
    "CORDON_ONLY": "cordon_only",
    "TAINT_NODE": "taint_node",
    "ENABLE_OUT_OF_SERVICE_TAINT": "enable_out_of_service_taint",
    "EXCLUDE_FROM_LOAD_BALANCERS": "exclude_from_load_balancers",
    "IGNORE_DAEMON_SETS": "ignore_daemon_sets",
    "DELETE_LOCAL_DATA": "delete_local_data",
    "DRY_RUN": "dry_run",
    "EMIT_KUBERNETES_EVENTS": "emit_kubernetes_events",
    "CHECK_TAG_BEFORE_DRAINING": "check_tag_before_draining",
    "USE_PROVIDER_ID": "use_provider_id",
}
_INTS = {"POD_TERMINATION_GRACE_PERIOD": "pod_termination_grace_period", "NODE_TERMINATION_GRACE_PERIOD": "node_termination_grace_period"}
_STRS = {
    "QUEUE_URL": "queue_url", "AWS_REGION": "aws_region", "AWS_ENDPOINT": "aws_endpoint",
    "INSTANCE_METADATA_URL": "instance_metadata_url", "TAINT_EFFECT": "taint_effect", "MANAGED_TAG": "managed_tag",
    "KUBERNETES_EVENTS_EXTRA_ANNOTATIONS": "kubernetes_events_extra_annotations",
}
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """Plain `value` env vars of a container (valueFrom is not resolved)."""
    return {e["name"]: str(e.get("value", "")) for e in container.get("env") or [] if "name" in e and "valueFrom" not in e}


def is_nth(container: dict[str, Any]) -> bool:
    return IMAGE_MARK in str(container.get("image", ""))


def parse_env(env: dict[str, str]) -> NthConfig:
    values: dict[str, Any] = {}
    typed: tuple[tuple[dict[str, str], Callable[[str], Any], str], ...] = (
        (_BOOLS, parse_bool, "must be either true or false"), (_INTS, atoi, "must be an integer"))
    for table, parse, rule in typed:
        for var, attr in table.items():
            if env.get(var):
                try:
                    values[attr] = parse(env[var])
                except ValueError:
                    raise NthConfigError(f"{var}={env[var]!r}: {rule} (NTH panics at start)") from None
    for var, attr in _STRS.items():
        if env.get(var):
            values[attr] = env[var]
    cfg = NthConfig(**values)
    if cfg.taint_effect not in TAINT_EFFECTS:
        raise NthConfigError(f"TAINT_EFFECT={cfg.taint_effect!r}: must be one of {', '.join(TAINT_EFFECTS)}")
    if cfg.queue_mode and not cfg.queue_url:
        raise NthConfigError("ENABLE_SQS_TERMINATION_DRAINING=true needs QUEUE_URL (the SQS queue EventBridge feeds)")
    if cfg.emit_kubernetes_events:
        extra_annotations(cfg.kubernetes_events_extra_annotations)  # NTH exits at start on a malformed list
    return cfg


# the annotations NTH's event recorder puts on every Event it emits in IMDS mode: the node's
# metadata as IMDS gave it (pkg/observability/k8s-events.go, InitK8sEventRecorder)
NODE_METADATA_ANNOTATIONS = ("account-id", "availability-zone", "instance-id", "instance-life-cycle", "instance-type", "local-hostname", "local-ipv4",
                             "public-hostname", "public-ipv4", "region")


def extra_annotations(text: str) -> dict[str, str]:
    """KUBERNETES_EVENTS_EXTRA_ANNOTATIONS ("k1=v1,k2=v2") as NTH's parseExtraAnnotations reads it:
    every comma-separated part must be exactly one key=value."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        pair = part.split("=")
        if len(pair) != 2:
            raise NthConfigError(f"KUBERNETES_EVENTS_EXTRA_ANNOTATIONS={text!r}: error parsing annotations (each part must be key=value)")
        out[pair[0]] = pair[1]
    return out


def event_annotations(cfg: NthConfig, node_metadata: dict[str, str]) -> dict[str, str]:
    """What NTH annotates its Events with: in IMDS mode the node's metadata, then the extra
    annotations (which may override them); in queue mode the extra annotations only."""
    base = {} if cfg.queue_mode else {k: node_metadata.get(k, "") for k in NODE_METADATA_ANNOTATIONS}
    return base | extra_annotations(cfg.kubernetes_events_extra_annotations)
