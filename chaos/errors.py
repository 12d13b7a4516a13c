"""Errors of the harness; the CLI maps each to an exit code and one clear line."""

from __future__ import annotations

from typing import Any

SHOWN_CHARS = 80  # the most of a user's value an error line echoes


def shown(value: Any) -> str:
    """A value as an error line may echo it: one line, at most SHOWN_CHARS characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


class ChaosError(Exception):
    """Base of every error the harness reports to a user."""

    exit_code = 3


class SpecError(ChaosError):
    """An experiment or command argument is invalid; names the field and the fix."""


class GuardrailError(ChaosError):
    """A guardrail (allowed account/context, blast radius) refused to go on."""


class TargetError(ChaosError):
    """The cluster or the AWS account cannot be reached (no simulator running, bad kubeconfig)."""


class InjectionError(ChaosError):
    """A fault could not be injected."""


class SafetyLeverEngaged(ChaosError):
    """The account's FIS safety lever is engaged (or engaging): no experiment may start."""
