"""The TensorFlow Serving REST API (tensorflow/serving docs/api_rest.md), as pure functions:
which containers are TF Serving and on which port, and the answer to each request.

Answers copy the real server: model status and metadata JSON, `{"predictions": ...}` for row
format (`instances`, binary inputs as `{"b64": ...}`), `{"outputs": ...}` for columnar
`inputs`, and `{"error": ...}` with 400 for bad input and 404 for an unknown model or version.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Any

import orjson

from cluster.components.tf_serving import MODEL_VERSION, PATH, ServingArgs
from cluster.sim.serving.model import CLASSES, classify, tensor_bytes


def _error(status: int, message: str) -> tuple[int, bytes]:
    return status, orjson.dumps({"error": message})


def _not_found(name: str, version: str | None) -> tuple[int, bytes]:
    spec = f"Specific({name}, {version})" if version else f"Latest({name})"
    return _error(404, f"Servable not found for request: {spec}")


def model_status() -> bytes:
    return orjson.dumps({"model_version_status": [{"version": MODEL_VERSION, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})


def model_metadata(name: str) -> bytes:
    dim = lambda size: {"size": str(size), "name": ""}  # noqa: E731
    return orjson.dumps({
        "model_spec": {"name": name, "signature_name": "", "version": MODEL_VERSION},
        "metadata": {"signature_def": {"signature_def": {"serving_default": {
            "inputs": {"image_bytes": {"dtype": "DT_STRING", "tensor_shape": {"dim": [dim(-1)], "unknown_rank": False}, "name": "input_tensor:0"}},
            "outputs": {
                "classes": {"dtype": "DT_INT64", "tensor_shape": {"dim": [dim(-1)], "unknown_rank": False}, "name": "ArgMax:0"},
                "probabilities": {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [dim(-1), dim(CLASSES)], "unknown_rank": False}, "name": "softmax_tensor:0"},
            },
            "method_name": "tensorflow/serving/predict",
        }}}},
    })


class BadInput(ValueError):
    pass


def _instance_bytes(value: Any) -> bytes:
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            if not isinstance(value["b64"], str):
                raise BadInput("JSON Value: " + orjson.dumps(value).decode() + " Type: Object is not of expected type: string")
            try:
                return base64.b64decode(value["b64"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise BadInput(f"Unable to base64 decode: {exc}") from exc
        if len(value) == 1:
            return _instance_bytes(next(iter(value.values())))
        raise BadInput("Failed to process element: 0 of 'instances' list. JSON object: " + orjson.dumps(value).decode() + " keys must be equal to: image_bytes")
    try:
        return tensor_bytes(value)
    except TypeError as exc:
        raise BadInput(f"Failed to process element: 0 of 'instances' list. Error: Invalid argument: JSON Value: {orjson.dumps(value).decode()} Type: {exc} is not of expected type: float") from exc


CACHED_BODY_MAX = 64 * 1024  # bodies up to this size have their answers remembered


@lru_cache(maxsize=64)
def _remembered(body: bytes) -> tuple[int, bytes]:
    return _predict(body)


def predict(body: bytes) -> tuple[int, bytes]:
    """The answer to a predict body.  The answer is a pure function of the body, and a load test
    sends the same few bodies over and over: the simulator works each one out once (the modelled
    service time is the pod's, not the simulator's CPU)."""
    return _remembered(body) if len(body) <= CACHED_BODY_MAX else _predict(body)


def _predict(body: bytes) -> tuple[int, bytes]:
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _error(400, f"JSON Parse error: {exc.msg} at offset: {exc.pos}")
    if not isinstance(req, dict):
        return _error(400, "JSON Parse error: Invalid value. at offset: 0")
    has_instances, has_inputs = "instances" in req, "inputs" in req
    if has_instances == has_inputs:
        return _error(400, "Missing 'inputs' or 'instances' key" if not has_instances else "Not both 'inputs' and 'instances' keys can be specified")
    signature = req.get("signature_name", "serving_default")
    if signature != "serving_default":
        return _error(400, f"Serving signature key \"{signature}\" not found.")
    try:
        if has_instances:
            instances = req["instances"]
            if not isinstance(instances, list) or not instances:
                return _error(400, "Expecting 'instances' to be an list/array")
            results = [classify(_instance_bytes(i)) for i in instances]
            return 200, orjson.dumps({"predictions": [{"classes": c, "probabilities": p} for c, p in results]})
        inputs = req["inputs"]
        rows = inputs if isinstance(inputs, list) else [inputs]
        results = [classify(_instance_bytes(i)) for i in rows]
        return 200, orjson.dumps({"outputs": {"classes": [c for c, _ in results], "probabilities": [p for _, p in results]}})
    except BadInput as exc:
        return _error(400, str(exc))


def handle(args: ServingArgs, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    """The status and JSON body TF Serving answers with (the service time is the caller's)."""
    m = PATH.match(path.split("?", 1)[0])
    if m is None:
        return _error(404 if method == "GET" else 400, f"Malformed request: {method} {path}")
    name, version, rest = m.group("name"), m.group("version"), m.group("rest") or ""
    if name != args.model_name or (version is not None and version != MODEL_VERSION):
        return _not_found(name, version)
    if method == "GET" and rest == "":
        return 200, model_status()
    if method == "GET" and rest == "/metadata":
        return 200, model_metadata(name)
    if method == "POST" and rest == ":predict":
        return predict(body)
    if method == "POST" and rest in (":classify", ":regress"):
        return _error(400, f"Expected prediction signature method_name to be one of {{tensorflow/serving/{rest[1:]}}}. Was: tensorflow/serving/predict")
    return _error(400, f"Malformed request: {method} {path}")
