"""AWS FIS experiment states (botocore's fis service-2.json `ExperimentStatus`; `cancelled` came
with safety levers in 2024-09) and the safety lever's states, as the API spells them."""

from __future__ import annotations

from enum import StrEnum


class ExperimentStatus(StrEnum):
    PENDING = "pending"
    INITIATING = "initiating"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATES = frozenset({ExperimentStatus.COMPLETED, ExperimentStatus.STOPPED, ExperimentStatus.FAILED, ExperimentStatus.CANCELLED})
SAFETY_LEVER_ID = "default"  # one lever per account and Region


class SafetyLeverStatus(StrEnum):
    DISENGAGED = "disengaged"
    ENGAGING = "engaging"
    ENGAGED = "engaged"
