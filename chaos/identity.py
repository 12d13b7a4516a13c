"""Who a run is: its id (unique: name, UTC second and random bits), its default directory, and its
owner process (pid, host and the process's start time, so a reused pid is not taken for it)."""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cluster.endpoints import process_start_ticks, signallable_pid

RUN_ID_TAG = "spotchaos:run-id"  # on every AWS resource a run creates
PROFILE_TAG = "spotchaos:profile"  # with the run id on the node groups of a cluster a run provisioned: cleanup --run-id tears it down
RUN_ID_LABEL = "spotchaos.dev/run-id"  # on Kubernetes objects a run creates (a label value: see run_label)
RUN_ID_ANNOTATION = "spotchaos.dev/run-id"  # the whole run id beside the label, which may be cut
LABEL_VALUE_MAX = 63  # Kubernetes label values: at most 63 characters, alphanumeric at both ends


def new_run_id(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]", "-", name)[:60]
    return f"{slug}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def run_label(run_id: str) -> dict[str, str]:
    """The label that marks a run's Kubernetes objects.  A run id longer than a label value keeps its
    end (the UTC second and the random bits, which make it unique)."""
    value = re.sub(r"^[^A-Za-z0-9]+", "", run_id[-LABEL_VALUE_MAX:])
    return {RUN_ID_LABEL: re.sub(r"[^A-Za-z0-9]+$", "", value)}


def run_selector(run_id: str) -> str:
    return ",".join(f"{k}={v}" for k, v in run_label(run_id).items())


def default_report_dir(run_id: str) -> Path:
    return Path("spotchaos-runs") / run_id


@dataclass(frozen=True)
class Owner:
    pid: int
    host: str
    start_ticks: int | None

    @classmethod
    def me(cls) -> Owner:
        return cls(os.getpid(), socket.gethostname(), process_start_ticks(os.getpid()))

    @classmethod
    def from_dict(cls, data: Any) -> Owner | None:
        if not isinstance(data, dict) or not signallable_pid(data.get("pid")):  # never pid 0, -1, 1 or a bool
            return None
        ticks = data.get("start_ticks")
        return cls(data["pid"], str(data.get("host", "")), ticks if isinstance(ticks, int) else None)

    def alive(self) -> bool | None:
        """True: the owner still runs; False: it is gone; None: it ran on another host (unknown)."""
        if self.host != socket.gethostname():
            return None
        ticks = process_start_ticks(self.pid)
        return ticks is not None and (self.start_ticks is None or ticks == self.start_ticks)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
