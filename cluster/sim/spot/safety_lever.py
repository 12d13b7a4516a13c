"""FIS's safety lever (FIS User Guide "Safety Levers for AWS FIS"; botocore fis service-2.json
GetSafetyLever / UpdateSafetyLeverState), pure: one lever per account and Region, id `default`.
Engaging stops every running experiment (they end `stopped`) and the lever reads `engaging` until
none runs, then `engaged`; an experiment started while it is engaged (or engaging) ends `cancelled`;
it cannot be changed while engaging.  Requests: `engaged` or `disengaged` only."""

from __future__ import annotations

from dataclasses import dataclass

from cluster.components.fis import SAFETY_LEVER_ID, SafetyLeverStatus

INPUT_STATES = (SafetyLeverStatus.DISENGAGED, SafetyLeverStatus.ENGAGED)
STOPPED_REASON = "Experiment stopped: the safety lever was engaged."  # the exact text FIS gives is not documented
CANCELLED_REASON = "Experiment cancelled: the safety lever is engaged."


class LeverError(ValueError):
    """The API's error: code (ValidationException, ConflictException, ResourceNotFoundException) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SafetyLever:
    status: SafetyLeverStatus = SafetyLeverStatus.DISENGAGED
    reason: str = ""

    @staticmethod
    def check_id(lever_id: str) -> None:
        if lever_id != SAFETY_LEVER_ID:
            raise LeverError("ResourceNotFoundException", f"Safety lever {lever_id} does not exist")

    def request(self, status: str, reason: str, running: int) -> SafetyLeverStatus:
        """Apply UpdateSafetyLeverState; `running`: experiments not yet ended.  The new status."""
        if status not in INPUT_STATES:
            raise LeverError("ValidationException", f"status must be one of {', '.join(INPUT_STATES)}")
        if not reason:
            raise LeverError("ValidationException", "reason is required")
        if self.status == SafetyLeverStatus.ENGAGING:
            raise LeverError("ConflictException", "The safety lever cannot be changed while it is engaging")
        self.reason = reason
        if status == SafetyLeverStatus.ENGAGED:
            self.status = SafetyLeverStatus.ENGAGING if running else SafetyLeverStatus.ENGAGED
        else:
            self.status = SafetyLeverStatus.DISENGAGED
        return self.status

    def settle(self, running: int) -> None:
        """Engaging becomes engaged once no experiment runs."""
        if self.status == SafetyLeverStatus.ENGAGING and running == 0:
            self.status = SafetyLeverStatus.ENGAGED

    @property
    def blocks_starts(self) -> bool:
        return self.status != SafetyLeverStatus.DISENGAGED

    def describe(self, region: str, account: str) -> dict[str, object]:
        return {"id": SAFETY_LEVER_ID, "arn": f"arn:aws:fis:{region}:{account}:safety-lever/{SAFETY_LEVER_ID}",
                "state": {"status": str(self.status), "reason": self.reason}}
