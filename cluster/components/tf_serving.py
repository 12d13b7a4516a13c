"""TensorFlow Serving's command line and REST paths (tensorflow/serving docs/api_rest.md and
model_servers/main.cc), pure: which containers run TF Serving, on which ports, serving which model,
and what a GET on a path answers.  The simulator's pods and doctor's health-check check read it."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

MODEL_VERSION = "1"
PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?(?P<rest>/metadata|:[a-z]+)?$")


@dataclass(frozen=True)
class ServingArgs:
    model_name: str
    rest_port: int
    grpc_port: int
    model_base_path: str


def _flags(words: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("--"):
            if "=" in w:
                k, v = w[2:].split("=", 1)
            elif i + 1 < len(words) and not words[i + 1].startswith("--"):
                k, v = w[2:], words[i + 1]
                i += 1
            else:
                k, v = w[2:], "true"
            out[k] = v
        i += 1
    return out


def runs_tf_serving(container: dict[str, Any]) -> bool:
    """The official image or the model server binary, whatever its flags."""
    parts = " ".join(str(p) for p in (container.get("command") or []) + (container.get("args") or []))
    return "tensorflow/serving" in str(container.get("image", "")) or "tensorflow_model_server" in parts


def serving_args(container: dict[str, Any]) -> ServingArgs | None:
    """How a container runs TF Serving, or None when it does not.

    The official image's entrypoint runs `tensorflow_model_server --port=8500
    --rest_api_port=8501 --model_name=$MODEL_NAME --model_base_path=$MODEL_BASE_PATH/$MODEL_NAME`;
    an explicit command (as in the seed) gives its own flags.
    """
    image = str(container.get("image", ""))
    parts = (container.get("command") or []) + (container.get("args") or [])
    if "tensorflow" not in image and not any("tensorflow_model_server" in str(p) for p in parts):
        return None  # the common case, decided without parsing
    words: list[str] = []
    for part in parts:
        words.extend(shlex.split(str(part)) if " " in str(part) else [str(part)])
    runs_server = any(w.endswith("tensorflow_model_server") for w in words)
    is_image = image.startswith("tensorflow/serving") or "/tensorflow/serving" in image
    if not runs_server and not is_image:
        return None
    env = {e.get("name"): e.get("value", "") for e in container.get("env") or []}
    if not runs_server:
        name = env.get("MODEL_NAME") or "model"
        base = env.get("MODEL_BASE_PATH") or "/models"
        return ServingArgs(name, 8501, 8500, f"{base}/{name}")
    flags = _flags(words)
    rest = int(flags.get("rest_api_port", "0") or 0)
    if rest == 0:
        return None  # the REST API is off unless --rest_api_port is given
    return ServingArgs(flags.get("model_name", "default"), rest, int(flags.get("port", "8500")), flags.get("model_base_path", ""))


def get_status(args: ServingArgs, path: str) -> int:
    """The HTTP status TF Serving's REST API gives a GET on `path` (a health check's view): 200 for
    the model's status (`/v1/models/<name>[/versions/<v>|/labels/<l>]`) and metadata, 404 for an
    unknown path, model or version (`/` included), 400 for a GET on a method such as `:predict`."""
    m = PATH.match(path.split("?", 1)[0])
    if m is None or m.group("name") != args.model_name:
        return 404
    if m.group("version") is not None and m.group("version") != MODEL_VERSION:
        return 404
    return 200 if (m.group("rest") or "") in ("", "/metadata") else 400
