"""Cluster Autoscaler's command-line flags (names and defaults from cluster-autoscaler's
config/flags.go and FAQ), parsed from its container's command and args; pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cluster.components.go_values import parse_bool, parse_duration

IMAGE_MARK = "cluster-autoscaler"
EXPANDERS = ("random", "least-waste", "most-pods", "priority", "price", "grpc")


class CaFlagError(ValueError):
    """A flag Cluster Autoscaler would refuse at start-up (it exits; nothing scales)."""


@dataclass(frozen=True)
class AutoDiscovery:
    """`asg:tag=key[=value],key2` — an ASG matches when it has every key (with the value, if given)."""

    tags: tuple[tuple[str, str | None], ...]

    def matches(self, asg_tags: dict[str, str]) -> bool:
        return all(k in asg_tags and (v is None or asg_tags[k] == v) for k, v in self.tags)


@dataclass(frozen=True)
class StaticGroup:
    min_size: int
    max_size: int
    name: str


@dataclass(frozen=True)
class CaConfig:
    scan_interval: float = 10.0
    expander: tuple[str, ...] = ("least-waste",)
    balance_similar_node_groups: bool = False
    max_node_provision_time: float = 900.0
    scale_down_enabled: bool = True
    scale_down_unneeded_time: float = 600.0
    scale_down_delay_after_add: float = 600.0
    scale_down_delay_after_failure: float = 180.0
    scale_down_utilization_threshold: float = 0.5
    skip_nodes_with_system_pods: bool = True
    initial_node_group_backoff_duration: float = 300.0
    max_node_group_backoff_duration: float = 1800.0
    node_group_backoff_reset_timeout: float = 10800.0
    new_pod_scale_up_delay: float = 0.0
    max_nodes_total: int = 0
    auto_discovery: tuple[AutoDiscovery, ...] = ()
    static_groups: tuple[StaticGroup, ...] = ()
    cloud_provider: str = "aws"
    namespace: str = "kube-system"
    ignored: tuple[str, ...] = field(default_factory=tuple)


_DURATIONS = {
    "scan-interval": "scan_interval", "max-node-provision-time": "max_node_provision_time",
    "scale-down-unneeded-time": "scale_down_unneeded_time", "scale-down-delay-after-add": "scale_down_delay_after_add",
    "scale-down-delay-after-failure": "scale_down_delay_after_failure",
    "initial-node-group-backoff-duration": "initial_node_group_backoff_duration",
    "max-node-group-backoff-duration": "max_node_group_backoff_duration",
    "node-group-backoff-reset-timeout": "node_group_backoff_reset_timeout", "new-pod-scale-up-delay": "new_pod_scale_up_delay",
}
_BOOLS = {
    "balance-similar-node-groups": "balance_similar_node_groups", "scale-down-enabled": "scale_down_enabled",
    "skip-nodes-with-system-pods": "skip_nodes_with_system_pods",
}


def _bool(flag: str, value: str | None) -> bool:
    """A Go bool flag: `--flag` alone is true, `--flag=v` takes strconv.ParseBool's spellings."""
    if value is None:
        return True
    try:
        return parse_bool(value)
    except ValueError:
        raise CaFlagError(f"--{flag}={value}: must be true or false") from None


def is_cluster_autoscaler(container: dict[str, Any]) -> bool:
    return IMAGE_MARK in str(container.get("image", ""))


def container_argv(container: dict[str, Any]) -> list[str]:
    """The words CA's flag parser sees: its command and args, in order."""
    return [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]


def parse_flags(argv: list[str]) -> CaConfig:
    """CA's settings from its command line (its flag parser: --flag=value); flags the simulator
    does not model are kept as `ignored`."""
    values: dict[str, object] = {}
    discovery: list[AutoDiscovery] = []
    static: list[StaticGroup] = []
    ignored: list[str] = []
    for raw in argv:
        if not raw.startswith("-"):
            continue
        flag, eq, value = raw.lstrip("-").partition("=")
        val = value if eq else None
        try:
            if flag == "node-group-auto-discovery":
                discovery.append(_auto_discovery(val))
            elif flag == "nodes":
                static.append(_static_group(val))
            elif not _setting(flag, val, values):
                ignored.append(flag)
        except ValueError as exc:
            if isinstance(exc, CaFlagError):
                raise
            raise CaFlagError(f"--{flag}={val}: {exc}") from None
    if values.get("cloud_provider", "aws") != "aws":
        raise CaFlagError(f"--cloud-provider={values['cloud_provider']}: the simulator is an AWS cluster; use aws")
    return CaConfig(**values, auto_discovery=tuple(discovery), static_groups=tuple(static), ignored=tuple(ignored))  # type: ignore[arg-type]


# flags that set one value: flag -> (field, how its value is read)
_VALUES: dict[str, tuple[str, Callable[[str | None], object]]] = {
    "scale-down-utilization-threshold": ("scale_down_utilization_threshold", lambda v: float(v or "")),
    "max-nodes-total": ("max_nodes_total", lambda v: int(v or "")),
    "cloud-provider": ("cloud_provider", lambda v: v or ""),
    "namespace": ("namespace", lambda v: v or "kube-system"),
}


def _setting(flag: str, val: str | None, values: dict[str, object]) -> bool:
    """Set the value a flag gives; False for a flag the simulator does not model."""
    if flag in _DURATIONS:
        values[_DURATIONS[flag]] = parse_duration(val or "")
    elif flag in _BOOLS:
        values[_BOOLS[flag]] = _bool(flag, val)
    elif flag == "expander":
        chain = tuple(e.strip() for e in (val or "").split(",") if e.strip())
        bad = [e for e in chain if e not in EXPANDERS]
        if bad or not chain:
            raise CaFlagError(f"--expander={val}: unknown expander {', '.join(bad) or '(empty)'}; use {', '.join(EXPANDERS)}")
        values["expander"] = chain
    elif flag in _VALUES:
        field_name, read = _VALUES[flag]
        values[field_name] = read(val)
    else:
        return False
    return True


def _auto_discovery(val: str | None) -> AutoDiscovery:
    kind, _, spec = (val or "").partition(":")
    if kind != "asg" or not spec.startswith("tag="):
        raise CaFlagError(f"--node-group-auto-discovery={val}: on AWS use asg:tag=<key>[=<value>],<key2>")
    tags = []
    for item in spec[len("tag="):].split(","):
        k, has, v = item.partition("=")
        tags.append((k, v if has else None))
    return AutoDiscovery(tuple(tags))


def _static_group(val: str | None) -> StaticGroup:
    parts = (val or "").split(":")
    if len(parts) != 3:
        raise CaFlagError(f"--nodes={val}: use <min>:<max>:<asg name>")
    return StaticGroup(int(parts[0]), int(parts[1]), parts[2])
