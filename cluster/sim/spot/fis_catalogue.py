"""FIS's catalogue as ListActions, GetAction, ListTargetResourceTypes and GetTargetResourceType
answer it, for the actions and target types the simulator runs (fis_templates.CATALOG).  Pure.

Source: the FIS actions reference and targets reference (docs.aws.amazon.com/fis/latest/
userguide/fis-actions-reference.html, targets.html); the shapes are botocore's FIS model
(Action, ActionSummary, TargetResourceType)."""

from __future__ import annotations

from typing import Any

from cluster.sim.spot import fis_templates as ft

DESCRIPTIONS = {
    ft.SEND_SPOT_INTERRUPTIONS: "Send a Spot Instance interruption notice to target Spot Instances two minutes before interrupting them.",
    ft.ASG_ICE: "Inject InsufficientInstanceCapacity error responses on launches by target Auto Scaling groups in the given Availability Zones.",
    ft.API_ICE: "Inject InsufficientInstanceCapacity error responses on instance launch requests made by target IAM roles.",
    ft.TERMINATE_INSTANCES: "Terminate target EC2 instances.",
    ft.STOP_INSTANCES: "Stop target EC2 instances, and optionally start them again after a duration.",
    ft.WAIT: "Wait for the specified duration.",
}
PARAMETERS = {
    "durationBeforeInterruption": "The time to wait before interrupting the instance (ISO 8601 duration, PT2M to PT15M).",
    "availabilityZoneIdentifiers": "A comma-separated list of Availability Zones (names or IDs).",
    "duration": "The duration of the action (ISO 8601 duration).",
    "percentage": "The percentage of calls to fail (1-100, default 100).",
    "startInstancesAfterDuration": "The time to wait before starting the instances (ISO 8601 duration, PT1M to PT12H).",
    "completeIfInstancesTerminated": "Whether the action completes when a target instance is terminated before it is restarted (default false).",
}
RESOURCE_TYPES = {
    ft.SPOT_INSTANCE: "Target Spot Instances",
    ft.INSTANCE: "Target EC2 instances",
    ft.ASG: "Target Auto Scaling groups",
    ft.IAM_ROLE: "Target IAM roles",
}


class NotInCatalogue(KeyError):
    """GetAction or GetTargetResourceType for an id FIS does not have."""


def _arn(region: str, action_id: str) -> str:
    return f"arn:aws:fis:{region}::action/{action_id}"


def _targets(spec: ft.ActionSpec) -> dict[str, Any]:
    return {spec.target_key: {"resourceType": spec.resource_type}} if spec.target_key else {}


def action_summaries(region: str) -> list[dict[str, Any]]:
    return [{"id": a, "arn": _arn(region, a), "description": DESCRIPTIONS[a], "targets": _targets(spec), "tags": {}}
            for a, spec in sorted(ft.CATALOG.items())]


def action(region: str, action_id: str) -> dict[str, Any]:
    spec = ft.CATALOG.get(action_id)
    if spec is None:
        raise NotInCatalogue(f"Action {action_id} not found")
    parameters = {p: {"description": PARAMETERS[p], "required": True} for p in spec.required}
    parameters |= {p: {"description": PARAMETERS[p], "required": False} for p in spec.optional}
    return {"id": action_id, "arn": _arn(region, action_id), "description": DESCRIPTIONS[action_id], "parameters": parameters,
            "targets": _targets(spec), "tags": {}}


def resource_types() -> list[dict[str, str]]:
    return [{"resourceType": t, "description": d} for t, d in sorted(RESOURCE_TYPES.items())]


def resource_type(name: str) -> dict[str, Any]:
    if name not in RESOURCE_TYPES:
        raise NotInCatalogue(f"Target resource type {name} not found")
    return {"resourceType": name, "description": RESOURCE_TYPES[name], "parameters": {}}
