"""FIS experiment templates as FIS checks them (pure): the actions the simulator executes, their
targets and parameters, ISO 8601 durations and selection modes.  Errors carry FIS's error code
(ValidationException) and name the field and the fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SPOT_INSTANCE = "aws:ec2:spot-instance"
INSTANCE = "aws:ec2:instance"
ASG = "aws:ec2:autoscaling-group"
IAM_ROLE = "aws:iam:role"

SEND_SPOT_INTERRUPTIONS = "aws:ec2:send-spot-instance-interruptions"
ASG_ICE = "aws:ec2:asg-insufficient-instance-capacity-error"
API_ICE = "aws:ec2:api-insufficient-instance-capacity-error"
TERMINATE_INSTANCES = "aws:ec2:terminate-instances"
STOP_INSTANCES = "aws:ec2:stop-instances"
WAIT = "aws:fis:wait"

ALARM_SOURCE = "aws:cloudwatch:alarm"


@dataclass(frozen=True)
class ActionSpec:
    target_key: str | None  # the key under the action's `targets`
    resource_type: str | None
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    max_arns: int | None = None


CATALOG: dict[str, ActionSpec] = {
    SEND_SPOT_INTERRUPTIONS: ActionSpec("SpotInstances", SPOT_INSTANCE, ("durationBeforeInterruption",), max_arns=5),
    ASG_ICE: ActionSpec("AutoScalingGroups", ASG, ("availabilityZoneIdentifiers", "duration"), ("percentage",)),
    API_ICE: ActionSpec("Roles", IAM_ROLE, ("availabilityZoneIdentifiers", "duration"), ("percentage",)),
    TERMINATE_INSTANCES: ActionSpec("Instances", INSTANCE, ()),
    STOP_INSTANCES: ActionSpec("Instances", INSTANCE, (), ("startInstancesAfterDuration", "completeIfInstancesTerminated")),
    WAIT: ActionSpec(None, None, ("duration",)),
}

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_SELECTION = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+)\))$")


class TemplateError(ValueError):
    """FIS's ValidationException: the message names the field and what to change."""


def parse_iso_duration(value: str) -> float:
    """PT2M -> 120.0; raises ValueError for anything that is not an ISO 8601 duration."""
    m = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if not m or value.strip() in ("P", "PT"):
        raise ValueError(f"'{value}' is not an ISO 8601 duration such as PT2M or PT1H30M")
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def parse_selection(mode: str) -> tuple[str, int]:
    """'ALL' -> ('ALL', 0); 'COUNT(2)' -> ('COUNT', 2); 'PERCENT(25)' -> ('PERCENT', 25)."""
    m = _SELECTION.match(mode or "")
    if not m:
        raise ValueError(f"selectionMode '{mode}' must be ALL, COUNT(n) or PERCENT(n)")
    if m.group(2) is not None:
        return "COUNT", int(m.group(2))
    if m.group(3) is not None:
        return "PERCENT", int(m.group(3))
    return "ALL", 0


def select(resources: list[str], mode: str, pick: Any) -> list[str]:
    """Apply a selection mode; `pick(population, k)` chooses k (random.sample in FIS)."""
    kind, n = parse_selection(mode)
    if kind == "ALL":
        return list(resources)
    k = n if kind == "COUNT" else (len(resources) * n) // 100
    k = min(k, len(resources))
    return sorted(pick(list(resources), k))


def _check_duration(where: str, value: Any, low: float, high: float, low_text: str, high_text: str) -> None:
    try:
        seconds = parse_iso_duration(str(value))
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    if not low <= seconds <= high:
        raise TemplateError(f"{where}: '{value}' is out of range; give a duration from {low_text} to {high_text}")


def validate_template(actions: dict[str, Any] | None, targets: dict[str, Any] | None, stop_conditions: list[dict[str, Any]] | None) -> None:
    """Raise TemplateError for what FIS refuses at CreateExperimentTemplate: its targets, each
    action (its parameters, its target, what it starts after) and its stop conditions."""
    actions = actions or {}
    targets = targets or {}
    if not actions:
        raise TemplateError("actions: an experiment template needs at least one action")
    for name, target in targets.items():
        _check_target(f"targets.{name}", target)
    for name, action in actions.items():
        where = f"actions.{name}"
        action_id = action.get("actionId", "")
        spec = CATALOG.get(action_id)
        if spec is None:
            raise TemplateError(f"{where}.actionId: action '{action_id}' is not supported; use one of {', '.join(sorted(CATALOG))}")
        _check_parameters(where, action_id, spec, action.get("parameters") or {})
        _check_action_targets(where, action_id, spec, action.get("targets") or {}, targets)
        for after in action.get("startAfter") or []:
            if after not in actions or after == name:
                raise TemplateError(f"{where}.startAfter: '{after}' is not another action of this template")
    for i, cond in enumerate(stop_conditions or []):
        _check_stop_condition(i, cond)


def _check_target(where: str, target: Any) -> None:
    if not isinstance(target, dict) or not target.get("resourceType"):
        raise TemplateError(f"{where}.resourceType is required (for example {SPOT_INSTANCE})")
    try:
        parse_selection(target.get("selectionMode", ""))
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc}") from None
    arns = target.get("resourceArns") or []
    if arns and target.get("resourceTags"):
        raise TemplateError(f"{where}: give either resourceArns or resourceTags, not both")
    if not arns and not (target.get("resourceTags") or target.get("filters")) and target["resourceType"] != IAM_ROLE:
        raise TemplateError(f"{where}: give resourceArns, or resourceTags and/or filters, to select resources")
    for f in target.get("filters") or []:
        if not f.get("path") or not f.get("values"):
            raise TemplateError(f"{where}.filters: each filter needs a path (e.g. State.Name) and values (e.g. [running])")


def _check_parameters(where: str, action_id: str, spec: ActionSpec, params: dict[str, Any]) -> None:
    for p in spec.required:
        if p not in params:
            raise TemplateError(f"{where}.parameters.{p} is required by {action_id}")
    unknown = set(params) - set(spec.required) - set(spec.optional)
    if unknown:
        raise TemplateError(f"{where}.parameters: {', '.join(sorted(unknown))} is not a parameter of {action_id}")
    if action_id == SEND_SPOT_INTERRUPTIONS:
        _check_duration(f"{where}.parameters.durationBeforeInterruption", params["durationBeforeInterruption"], 120, 900, "PT2M", "PT15M")
    elif action_id == STOP_INSTANCES and "startInstancesAfterDuration" in params:
        _check_duration(f"{where}.parameters.startInstancesAfterDuration", params["startInstancesAfterDuration"], 60, 43200, "PT1M", "PT12H")
    elif "duration" in params:
        _check_duration(f"{where}.parameters.duration", params["duration"], 1, 43200, "PT1S", "PT12H")
    if str(params.get("completeIfInstancesTerminated", "false")).lower() not in ("true", "false"):
        raise TemplateError(f"{where}.parameters.completeIfInstancesTerminated: '{params['completeIfInstancesTerminated']}' must be true or false")
    if "percentage" in params:
        try:
            pct = int(params["percentage"])
        except (TypeError, ValueError):
            pct = -1
        if not 1 <= pct <= 100:
            raise TemplateError(f"{where}.parameters.percentage: '{params['percentage']}' must be a whole number from 1 to 100")


def _check_action_targets(where: str, action_id: str, spec: ActionSpec, action_targets: dict[str, Any], targets: dict[str, Any]) -> None:
    if spec.target_key is None:
        if action_targets:
            raise TemplateError(f"{where}.targets: {action_id} takes no targets")
        return
    if set(action_targets) != {spec.target_key}:
        raise TemplateError(f"{where}.targets: {action_id} needs exactly one target under the key '{spec.target_key}'")
    ref = action_targets[spec.target_key]
    if ref not in targets:
        raise TemplateError(f"{where}.targets.{spec.target_key}: target '{ref}' is not defined under targets")
    rtype = targets[ref]["resourceType"]
    if rtype != spec.resource_type:
        raise TemplateError(f"{where}: target '{ref}' has resource type {rtype}, but {action_id} acts on {spec.resource_type}")
    if spec.max_arns and len(targets[ref].get("resourceArns") or []) > spec.max_arns:
        raise TemplateError(f"targets.{ref}.resourceArns: {action_id} takes at most {spec.max_arns} ARNs per target")


def _check_stop_condition(i: int, cond: dict[str, Any]) -> None:
    source = cond.get("source")
    if source == "none":
        return
    if source != ALARM_SOURCE:
        raise TemplateError(f"stopConditions[{i}].source: '{source}' must be {ALARM_SOURCE} or none")
    if not str(cond.get("value", "")).startswith("arn:aws:cloudwatch:"):
        raise TemplateError(f"stopConditions[{i}].value: give the ARN of a CloudWatch alarm (arn:aws:cloudwatch:<region>:<account>:alarm:<name>)")


def restart_plan(states: dict[str, str | None], complete_if_terminated: bool) -> tuple[list[str], str | None]:
    """At the end of aws:ec2:stop-instances: (instances to start, why the action fails or None).
    `states` maps each target instance to its state now (None: no longer described).  An instance
    terminated meanwhile (an Auto Scaling group replaced it) fails the action unless
    completeIfInstancesTerminated (FIS actions reference)."""
    gone = sorted(i for i, st in states.items() if st in (None, "shutting-down", "terminated"))
    start = sorted(i for i, st in states.items() if st in ("stopping", "stopped"))
    if gone and not complete_if_terminated:
        return start, f"instances {', '.join(gone)} were terminated and cannot be started; set completeIfInstancesTerminated to true"
    return start, None


def az_names(identifiers: str, region: str) -> frozenset[str]:
    """availabilityZoneIdentifiers: comma-separated AZ names (us-east-1a) or IDs (use1-az1)."""
    out = set()
    for ident in (i.strip() for i in identifiers.split(",")):
        m = re.match(r"^[a-z]+\d-az(\d+)$", ident)
        out.add(f"{region}{chr(96 + int(m.group(1)))}" if m else ident)
    return frozenset(i for i in out if i)


def matches_filters(described: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    """FIS filters: `path` into the resource as its Describe API shows it, any of `values`."""
    for f in filters:
        node: Any = described
        for part in f["path"].split("."):
            node = node.get(part) if isinstance(node, dict) else None
        values = [str(v) for v in f.get("values") or []]
        if isinstance(node, list):
            if not any(str(n) in values for n in node):
                return False
        elif str(node) not in values:
            return False
    return True
