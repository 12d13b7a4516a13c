"""Where a cluster's APIs are: the one object the harness and the simulator share.

The simulator writes it as `endpoints.json` in its state directory; the harness
reads it (or builds the same object from a kubeconfig context and an AWS profile
for a real EKS cluster).  Nothing else crosses between them but real protocols.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENDPOINTS_FILE = "endpoints.json"
KUBECONFIG_FILE = "kubeconfig"
# the simulator (moto) accepts any credentials; these are what every client of it uses
SIMULATOR_KEY_ID = "testing"
SIMULATOR_SECRET = "testing"


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a simulator recorded in a state directory, say)."""
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # it exists, as another user's
    except OSError:
        return False
    return True


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), or None: with
    the pid it names one process, where a pid alone may have been reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def is_recorded_simulator(ep: Endpoints) -> bool:
    """Whether the simulator an endpoints.json names still runs: its pid alive and, when recorded,
    the same process start time (a stale file must never name an unrelated process that got the pid)."""
    if ep.pid is None or not process_alive(ep.pid):
        return False
    recorded = ep.extra.get("pid_start_ticks")
    if recorded is not None:
        return recorded == str(process_start_ticks(ep.pid))
    try:
        cmdline = Path(f"/proc/{ep.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: the pid check alone
    return b"sim" in cmdline and b"up" in cmdline


def user_state_dir(name: str, override_env: str) -> Path:
    """$override_env, else $XDG_STATE_HOME/spotchaos/NAME, else ~/.local/state/spotchaos/NAME."""
    env = os.environ.get(override_env)
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "spotchaos" / name


def default_state_dir() -> Path:
    """Per-user default: $SPOTCHAOS_STATE_DIR, else $XDG_STATE_HOME/spotchaos/sim, else ~/.local/state/spotchaos/sim."""
    return user_state_dir("sim", "SPOTCHAOS_STATE_DIR")


@dataclass(frozen=True)
class Endpoints:
    """URLs and settings a client needs to reach one cluster and its AWS account."""

    target: str  # "local" or "eks"
    aws_endpoint_url: str | None
    region: str
    kubeconfig: str
    kube_context: str | None = None
    clock_speed: float = 1.0
    kube_api_url: str | None = None
    pid: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def write(self, state_dir: Path) -> Path:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / ENDPOINTS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, state_dir: Path) -> Endpoints:
        path = state_dir / ENDPOINTS_FILE
        data = json.loads(path.read_text())
        return cls(**data)

    def aws_client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for boto3.client(...): endpoint and region.  On EKS credentials come
        from the environment (profile, SSO, instance role); the local simulator gets fixed test
        credentials, so it works on a machine with none and real ones never go to it."""
        kwargs = {"region_name": self.region}
        if self.aws_endpoint_url:
            kwargs["endpoint_url"] = self.aws_endpoint_url
        if self.target == "local":
            kwargs.update(aws_access_key_id=SIMULATOR_KEY_ID, aws_secret_access_key=SIMULATOR_SECRET)
        return kwargs
