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


def signallable_pid(pid: object) -> bool:
    """Whether a pid read from a file may ever be signalled: an int above 1.  0 is the caller's own
    process group, -1 every process the caller may signal, 1 init; a bool is not a pid."""
    return isinstance(pid, int) and not isinstance(pid, bool) and pid > 1


def is_recorded_simulator(ep: Endpoints) -> bool:
    """Whether the simulator an endpoints.json names still runs: a signallable pid whose process has
    the recorded start time and the command line of `sim up`.  A stale or forged file must never
    name an unrelated process (one that got the pid, or every process through 0 or -1); where
    either cannot be checked, the answer is no."""
    if not signallable_pid(ep.pid) or not process_alive(ep.pid):  # type: ignore[arg-type]
        return False
    recorded = ep.extra.get("pid_start_ticks")
    if recorded is None or recorded != str(process_start_ticks(ep.pid)):  # type: ignore[arg-type]
        return False
    try:  # words split at NULs, or at spaces where the process set its title (a forked simulator)
        cmdline = Path(f"/proc/{ep.pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    except OSError:
        return False
    # `sim up`, or a simulator forked by `sim forkserver` that kept the server's command line
    return b"sim" in cmdline and (b"up" in cmdline or b"forkserver" in cmdline)


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
        """The endpoints.json in `state_dir`; ValueError naming the field when it is not one the
        simulator wrote (a wrong type is refused, never coerced: a pid of `true` is not pid 1)."""
        path = state_dir / ENDPOINTS_FILE
        if path.exists() and not path.is_file():  # a FIFO would block the reader until a writer came
            raise ValueError(f"{path}: not a regular file")
        return cls.from_dict(json.loads(path.read_text()), str(path))

    @classmethod
    def from_dict(cls, data: object, where: str = ENDPOINTS_FILE) -> Endpoints:
        problem = endpoints_problem(data)
        if problem is not None:
            raise ValueError(f"{where}: {problem}")
        assert isinstance(data, dict)
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


_TEXT_FIELDS = ("target", "region", "kubeconfig")
_OPTIONAL_TEXT_FIELDS = ("aws_endpoint_url", "kube_context", "kube_api_url")


def endpoints_problem(data: object) -> str | None:
    """What makes `data` not an endpoints object, naming the field; None when it is one."""
    if not isinstance(data, dict):
        return "not a JSON object of endpoints"
    unknown = sorted(set(data) - {f for f in Endpoints.__dataclass_fields__})
    if unknown:
        return f"unknown field {unknown[0]!r}"
    for name in _TEXT_FIELDS:
        if not isinstance(data.get(name), str):
            return f"{name} must be a string"
    for name in _OPTIONAL_TEXT_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], str):
            return f"{name} must be a string or null"
    speed = data.get("clock_speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0 < speed < 1e6:
        return "clock_speed must be a positive number"
    pid = data.get("pid")
    if pid is not None and not signallable_pid(pid):
        return f"pid must be a process id above 1, not {json.dumps(pid)[:40]}"
    extra = data.get("extra", {})
    if not isinstance(extra, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        return "extra must map strings to strings"
    return None
