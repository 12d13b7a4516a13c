"""The lines tensorflow_model_server writes while it starts, as the simulated TF Serving pods
write them to their container log (what `kubectl logs` shows first): the model config, the
servable's load, then the gRPC and REST listeners.  The messages are TF Serving 2.x's
(tensorflow_serving/model_servers/server.cc, server_core.cc, core/loader_harness.cc); the source
line numbers vary between releases and are left out.  Pure."""

from __future__ import annotations

from datetime import UTC, datetime


def _prefix(ts: float, source: str) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + f": I {source}]"


def loading(ts: float, model: str, base_path: str) -> list[str]:
    servable = f"{{name: {model} version: 1}}"
    return [
        f"{_prefix(ts, 'tensorflow_serving/model_servers/server.cc')} Building single TensorFlow model file config:  model_name: {model} model_base_path: {base_path}",
        f"{_prefix(ts, 'tensorflow_serving/model_servers/server_core.cc')} Adding/updating models.",
        f"{_prefix(ts, 'tensorflow_serving/model_servers/server_core.cc')}  (Re-)adding model: {model}",
        f"{_prefix(ts, 'tensorflow_serving/core/basic_manager.cc')} Successfully reserved resources to load servable {servable}",
        f"{_prefix(ts, 'tensorflow_serving/core/loader_harness.cc')} Approving load for servable version {servable}",
        f"{_prefix(ts, 'tensorflow_serving/core/loader_harness.cc')} Loading servable version {servable}",
    ]


def serving(ts: float, model: str, grpc_port: int, rest_port: int) -> list[str]:
    servable = f"{{name: {model} version: 1}}"
    return [
        f"{_prefix(ts, 'tensorflow_serving/core/loader_harness.cc')} Successfully loaded servable version {servable}",
        f"{_prefix(ts, 'tensorflow_serving/model_servers/server_core.cc')} Finished adding/updating models",
        f"{_prefix(ts, 'tensorflow_serving/model_servers/server.cc')} Running gRPC ModelServer at 0.0.0.0:{grpc_port} ...",
        f"{_prefix(ts, 'tensorflow_serving/model_servers/server.cc')} Exporting HTTP/REST API at:localhost:{rest_port} ...",
        "[evhttp_server.cc : 245] NET_LOG: Entering the event loop ...",
    ]
