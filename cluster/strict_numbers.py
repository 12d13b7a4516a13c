"""A number a user wrote must be a number: YAML's `true` is not 1.  Pydantic's lax mode takes a
bool for an int or a float (`rate: true` would send 1 request a second); models of user input
derive from `NumbersNotBools`, which refuses that by field name, and keeps lax mode for the rest
(a duration written as "30s", an enum written as its string)."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, model_validator


def _numeric(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_numeric(a) for a in get_args(annotation) if a is not type(None))
    return False


class NumbersNotBools(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _no_bools_for_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, info in cls.model_fields.items():
                value = data.get(name, data.get(info.alias) if info.alias else None)
                if isinstance(value, bool) and _numeric(info.annotation):
                    raise ValueError(f"{name}: give a number, not {str(value).lower()}")
        return data
