"""moto in server mode on loopback, in a thread, with one lock shared with the simulator's
controllers so they never read moto's models while a request is changing them."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

ACCOUNT_ID = DEFAULT_ACCOUNT_ID
SERVICES = ("ec2", "autoscaling", "elbv2", "fis", "sqs", "events", "cloudwatch", "iam", "sts", "eks", "s3")  # what the simulator answers



STOP_POLL_S = 0.05  # how often the serving loop checks for a stop (socketserver's poll_interval)

class _Serialized:
    """WSGI middleware: one moto request at a time, under the shared lock."""

    def __init__(self, app: Callable[..., Iterable[bytes]], lock: threading.RLock) -> None:
        self.app = app
        self.lock = lock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.lock = threading.RLock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        # AWS's managed policies exist in every account (AmazonEKSClusterPolicy, FIS's EC2 access...);
        # moto loads them (about a second, once, at the first IAM call) only when asked
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        app = _Serialized(DomainDispatcherApplication(create_backend_app), self.lock)
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        # shutdown() waits for the serving loop to look at its flag, once per poll: at the default
        # half second that was half a second of every simulator's stop
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL_S}, name="moto-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def backend(service: str, region: str) -> Any:
    """moto's in-process model of one service in one region (the same the server answers from)."""
    from moto.backends import get_backend

    return get_backend(service)[ACCOUNT_ID][region]  # type: ignore[call-overload]


_pristine = False  # moto's backends were made by prepare_backends and nothing has used them since


def prepare_backends() -> None:
    """Make what every simulator makes first, before any resource exists: the account's table of
    regions for each service (read from botocore's endpoints), the service models moto parses
    requests with, and IAM with AWS's managed policies (about 0.8 CPU seconds in all).  For a
    process that forks simulators: each fork starts from these, and its first reset keeps them."""
    global _pristine
    from moto.backends import get_backend
    from moto.core.utils import get_service_model

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    for service in SERVICES:
        get_backend(service)[ACCOUNT_ID]  # type: ignore[call-overload]
        get_service_model(service)
    get_backend("iam")[ACCOUNT_ID]["global"]  # type: ignore[call-overload]
    _pristine = True


def reset_backends() -> None:
    """Forget every AWS resource (a fresh account), e.g. between simulator runs in one process;
    backends just prepared hold none yet and are kept."""
    global _pristine
    if _pristine:
        _pristine = False
        return
    from moto.backends import get_backend

    for service in SERVICES:
        try:
            get_backend(service).reset()  # type: ignore[call-overload]
        except Exception:  # a service moto cannot reset is left as it is
            continue


def instance_by_id(region: str, instance_id: str) -> Any | None:
    """One EC2 instance of the region, newest reservation first (an instance is most often looked
    up soon after its launch), without building the whole map."""
    from cluster.sim.aws.ec2_lookups import find_instance

    return find_instance(backend("ec2", region), instance_id)


def instances_by_id(region: str) -> dict[str, Any]:
    """Every EC2 instance of the region by id, read straight from moto's reservations
    (moto's own get_instance scans and copies every reservation per call)."""
    ec2 = backend("ec2", region)
    return {i.id: i for r in ec2.reservations.values() for i in r.instances}
