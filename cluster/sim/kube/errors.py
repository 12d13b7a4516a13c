"""API errors rendered as the Status bodies the real API server sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiError(Exception):
    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def BadRequest(message: str) -> ApiError:  # noqa: N802 - reads like the Status reason
    return ApiError(400, "BadRequest", message)


def NotFound(resource: str, name: str, group: str = "") -> ApiError:  # noqa: N802
    res = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{res} "{name}" not found', {"name": name, "group": group, "kind": resource})


def AlreadyExists(resource: str, name: str, group: str = "") -> ApiError:  # noqa: N802
    res = f"{resource}.{group}" if group else resource
    return ApiError(409, "AlreadyExists", f'{res} "{name}" already exists', {"name": name, "group": group, "kind": resource})


def Conflict(resource: str, name: str, group: str = "") -> ApiError:  # noqa: N802
    res = f"{resource}.{group}" if group else resource
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        {"name": name, "group": group, "kind": resource},
    )


def Gone(message: str) -> ApiError:  # noqa: N802
    return ApiError(410, "Expired", message)


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
    message: str

    def cause(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def text(self) -> str:
        return f"{self.field}: {self.message}"


def Invalid(kind: str, name: str, errors: list[FieldError], group: str = "") -> ApiError:  # noqa: N802
    joined = errors[0].text() if len(errors) == 1 else "[" + ", ".join(e.text() for e in errors) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{kind} "{name}" is invalid: {joined}',
        {"name": name, "group": group, "kind": kind, "causes": [e.cause() for e in errors]},
    )


def TooManyRequestsPDB(pdb_name: str) -> ApiError:  # noqa: N802
    # Body of the real server (pkg/registry/core/pod/storage/eviction.go).
    return ApiError(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
        {
            "causes": [
                {
                    "reason": "DisruptionBudget",
                    "message": f'The disruption budget {pdb_name} needs more healthy pods and the eviction would violate it.',
                }
            ]
        },
    )
