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


_BOOLS = {
    "ENABLE_SPOT_INTERRUPTION_DRAINING": "enable_spot_interruption_draining",
    "ENABLE_SCHEDULED_EVENT_DRAINING": "enable_scheduled_event_draining",
    "ENABLE_REBALANCE_MONITORING": "enable_rebalance_monitoring",
    "ENABLE_REBALANCE_DRAINING": "enable_rebalance_draining",
    "ENABLE_SQS_TERMINATION_DRAINING": "queue_mode",
    "CORDON_ONLY": "cordon_only",
    "TAINT_NODE": "taint_node",
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
    return cfg
