"""Server-side field validation (`fieldValidation=Strict|Warn|Ignore`, what kubectl sends once the
OpenAPI v3 documents say the server supports it): a field the kind's schema does not have is a 400
"strict decoding error: unknown field ..." (Strict) or a warning (Warn), as the API server's
strict decoder reports it.  The schemas are the Kubernetes release's own, through
kubernetes-validate; a kind it has no schema for is not checked."""

from __future__ import annotations

import re
from typing import Any

from cluster.sim.kube.version import KUBE_VERSION

SCHEMA_VERSION = f"{KUBE_VERSION['major']}.{KUBE_VERSION['minor']}.0"


def unknown_fields(obj: Any) -> str | None:
    """`unknown field "a.b"`, for the first place the object has fields its schema lacks; None if none."""
    import kubernetes_validate

    if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
        return None
    try:
        kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        if exc.validator != "additionalProperties":
            return None  # not the strict decoder's business: typed decoding or validation answers it
        where = ".".join(str(p) for p in exc.path)
        names = re.findall(r"'([^']+)'", exc.message.split(" were unexpected")[0].split(" was unexpected")[0])
        return ", ".join(f'unknown field "{where + "." if where else ""}{n}"' for n in names) or None
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError):
        return None
    return None
