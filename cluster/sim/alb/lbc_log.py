"""The lines the AWS Load Balancer Controller writes to its container log at the moments the
simulated one acts, as `kubectl logs` shows them: controller-runtime's zap logger in production
mode (JSON: level, ts in RFC 3339, logger, msg, then the key/value pairs; main.go,
controller-runtime pkg/log/zap).  Messages are v2.9's: the target group binding's "registering
targets" / "registered targets" and "deRegistering targets" / "deRegistered targets"
(pkg/targetgroupbinding/targets_manager.go, on the root logger), and the ingress group's
"successfully deployed model" (controllers/ingress/group_controller.go, logger
controllers.ingress).  Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson


def line(ts: float, message: str, logger: str | None = None, **fields: Any) -> str:
    record: dict[str, Any] = {"level": "info", "ts": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if logger:
        record["logger"] = logger
    record["msg"] = message
    record.update(fields)
    return orjson.dumps(record).decode()


def _targets(targets: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """elbv2 TargetDescriptions as zap encodes the SDK structs."""
    return [{"AvailabilityZone": None, "Id": target, "Port": port} for target, port in targets]


def registration(ts: float, arn: str, targets: list[tuple[str, int]], register: bool) -> list[str]:
    verb = ("registering", "registered") if register else ("deRegistering", "deRegistered")
    return [line(ts, f"{v} targets", arn=arn, targets=_targets(targets)) for v in verb]


def deployed(ts: float, group: str) -> str:
    return line(ts, "successfully deployed model", "controllers.ingress", ingressGroup=group)
