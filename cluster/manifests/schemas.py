"""The real Kubernetes schemas, as kubernetes-validate ships them, each read and compiled once per
process.  kubernetes_validate.validate reads and parses the schema files again for every object
(the shared definitions are megabytes of JSON): a second of CPU for each profile a run provisions.
This is its lookup (the newest schema version not newer than the one asked for, the API group's
domain dropped from the file name) with the validator kept."""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv
from referencing import Registry, Resource


@functools.cache
def _validator(kind: str, api_version: str, kubernetes_version: str) -> tuple[Any, str]:
    """(the validator, the schema version used) of `kind` in `api_version`; raises kubernetes_validate's errors."""
    wanted = kubernetes_version[1:] if kubernetes_version.startswith("v") else kubernetes_version
    if kv.major_minor(wanted) > kv.latest_version():
        raise kv.VersionNotSupportedError(version=kv.major_minor(wanted))
    version = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(wanted)][-1]
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"v{version}-local-strict"
    try:
        schema = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group_version}.json", wanted)
    except FileNotFoundError:
        raise kv.SchemaNotFoundError(version=kv.major_minor(wanted), kind=kind, api_version=api_version) from None
    definitions = _definitions(schema_dir, wanted)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry), kv.major_minor(version)


@functools.cache
def _definitions(schema_dir: str, wanted: str) -> Any:
    return kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", wanted)


def validate_strict(obj: dict[str, Any], kubernetes_version: str) -> None:
    """kubernetes_validate.validate(obj, kubernetes_version, strict=True), its schemas kept."""
    validator, version = _validator(obj["kind"], obj["apiVersion"], kubernetes_version)
    try:
        validator.validate(obj)
    except jsonschema.ValidationError as exc:
        raise kv.ValidationError(exc, version=version) from None
