"""The experiment's field types, shared by the spec and the checks that plug into it: models that
refuse what they do not know (and true for 1), durations in cluster seconds written as 30s, 2m
or 500ms, shares between 0 and 1, and what a check judges (its scope)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from chaos.load.profile import duration_seconds
from cluster.strict_numbers import NumbersNotBools


def _seconds(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30s, 2m or 500ms, not true/false")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value.strip().startswith("-"):
            raise ValueError(f"'{value}' is negative; durations are 0 or more")
        seconds = duration_seconds(value)
        if seconds is None:
            raise ValueError(f"'{value}' is not a duration; write e.g. 30s, 2m or 500ms")
        return seconds
    return value


MAX_SECONDS = 7 * 86400  # no duration in an experiment is longer than a week
Duration = Annotated[float, BeforeValidator(_seconds), Field(ge=0, le=MAX_SECONDS, json_schema_extra={"type": ["string", "number"], "examples": ["30s", "2m", "500ms"]})]
Share = Annotated[float, Field(ge=0, le=1)]


class Strict(NumbersNotBools):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Scope(StrEnum):
    """What a check judges, and so when it can be decided while the run goes."""

    NODE = "node"  # each interrupted node's milestones: decided once every node's is seen (or too late)
    CAPACITY = "capacity"  # the serving Deployment's replicas over the experiment
    TRAFFIC = "traffic"  # the experiment's requests: decided at the end
