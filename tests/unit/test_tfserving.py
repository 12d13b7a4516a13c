"""TF Serving's REST API answers (pure): which containers serve, and what each request gets."""

from __future__ import annotations

import base64
import json

from chaos.load.bodies import sample_jpeg
from cluster.components.tf_serving import ServingArgs, serving_args
from cluster.sim.serving.tfserving import handle

ARGS = ServingArgs("resnet", 8500, 9000, "s3://b/resnet/")


def test_seed_command_gives_its_rest_port_and_model() -> None:
    c = {"image": "tensorflow/serving", "command": ["/usr/bin/tensorflow_model_server"], "args": ["--port=9000", "--rest_api_port=8500", "--model_name=resnet", "--model_base_path=s3://b/resnet/"]}
    assert serving_args(c) == ARGS


def test_official_image_entrypoint_defaults() -> None:
    assert serving_args({"image": "tensorflow/serving:2.16.1", "env": [{"name": "MODEL_NAME", "value": "half"}]}) == ServingArgs("half", 8501, 8500, "/models/half")


def test_rest_api_off_without_its_flag_and_other_images_ignored() -> None:
    assert serving_args({"image": "tensorflow/serving", "command": ["tensorflow_model_server", "--port=8500"]}) is None
    assert serving_args({"image": "nginx:1.27"}) is None


def test_model_status_and_metadata() -> None:
    status, body = handle(ARGS, "GET", "/v1/models/resnet", b"")
    assert status == 200 and json.loads(body)["model_version_status"][0]["state"] == "AVAILABLE"
    status, body = handle(ARGS, "GET", "/v1/models/resnet/metadata", b"")
    assert status == 200 and "serving_default" in json.loads(body)["metadata"]["signature_def"]["signature_def"]


def test_predict_b64_image_is_deterministic_with_1001_classes() -> None:
    req = json.dumps({"instances": [{"b64": base64.b64encode(sample_jpeg()).decode()}]}).encode()
    s1, b1 = handle(ARGS, "POST", "/v1/models/resnet:predict", req)
    s2, b2 = handle(ARGS, "POST", "/v1/models/resnet/versions/1:predict", req)
    assert s1 == s2 == 200 and b1 == b2
    pred = json.loads(b1)["predictions"][0]
    assert len(pred["probabilities"]) == 1001 and pred["probabilities"].index(max(pred["probabilities"])) == pred["classes"]


def test_columnar_inputs_give_outputs() -> None:
    status, body = handle(ARGS, "POST", "/v1/models/resnet:predict", b'{"inputs": [[1.0, 2.0], [3.0, 4.0]]}')
    out = json.loads(body)["outputs"]
    assert status == 200 and len(out["classes"]) == 2 and len(out["probabilities"][1]) == 1001


def test_errors_are_tf_serving_json_with_status() -> None:
    cases = [
        ("POST", "/v1/models/resnet:predict", b"{oops", 400, "JSON Parse error"),
        ("POST", "/v1/models/resnet:predict", b"{}", 400, "Missing 'inputs' or 'instances' key"),
        ("POST", "/v1/models/resnet:predict", b'{"instances": [{"b64": "***"}]}', 400, "Unable to base64 decode"),
        ("POST", "/v1/models/resnet:predict", b'{"instances": [["a"]]}', 400, "not of expected type"),
        ("POST", "/v1/models/other:predict", b'{"instances": [[1]]}', 404, "Servable not found for request: Latest(other)"),
        ("GET", "/v1/models/resnet/versions/7", b"", 404, "Specific(resnet, 7)"),
        ("POST", "/v2/nothing", b"", 400, "Malformed request"),
    ]
    for method, path, body, code, text in cases:
        status, payload = handle(ARGS, method, path, body)
        assert status == code, (path, body)
        assert text in json.loads(payload)["error"], (path, body)
