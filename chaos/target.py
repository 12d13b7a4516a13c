"""Where an experiment runs: the local simulator (started for the run as its own process, or one
already running from a state directory) or a real EKS cluster (a kubeconfig context and an AWS
region).  Either way the rest of the harness gets Endpoints and the cluster's clock speed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import structlog
from pydantic import Field, field_validator, model_validator

from chaos.aws import clients as aws_clients
from chaos.errors import GuardrailError, TargetError, shown
from chaos.fields import Strict
from chaos.host.forkserver import FORKSERVER_ENV, ForkServer, ForkServerError
from chaos.kube import clients as kube_clients
from cluster.clock_speed import parse_speed
from cluster.endpoints import Endpoints, is_recorded_simulator
from cluster.published_clock import ClockReader
from cluster.waiting import WaitTimeout, wait_for

# --------------------------------------------------------------------------- the experiment's target section

class LocalSimulator(Strict):
    config: str | None = Field(None, description="Simulator config YAML (timings, capacity pools, address range), as for `spotchaos sim up --config`.")
    state_dir: str | None = Field(None, description="Use the simulator already running from this state directory instead of starting one.")

    @model_validator(mode="after")
    def _paths(self) -> LocalSimulator:
        if self.config is not None and not os.path.isfile(self.config):
            raise ValueError(f"config: no file {shown(self.config)}; give a simulator config YAML or leave config out")
        if self.state_dir is not None and not os.path.isdir(self.state_dir):
            raise ValueError(f"state_dir: no directory {shown(self.state_dir)}; start a simulator with `spotchaos sim up --state-dir DIR`")
        return self


class Target(Strict):
    kind: Literal["local", "eks"] = Field("local", description="local: the simulator, started for the run; eks: a real cluster.")
    speed: float | Literal["auto"] = Field("auto", description="local: cluster time runs this many times faster than real time (0.1-1000); "
                                           "auto: provisioning as fast as the simulator keeps up, then as fast as the traffic allows (chaos/run/pace.py).")
    simulator: LocalSimulator = Field(default_factory=LocalSimulator)
    context: str | None = Field(None, description="eks: the kubeconfig context to use.")
    kubeconfig: str | None = Field(None, description="eks: kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")
    region: str | None = Field(None, description="eks: AWS region.")
    allowed_accounts: list[str] = Field(default_factory=list, description="eks: AWS account ids this experiment may touch (guardrail).")
    allowed_contexts: list[str] = Field(default_factory=list, description="eks: kubeconfig contexts this experiment may touch (guardrail).")
    fis_role_arn: str | None = Field(None, description="The IAM role FIS experiments run as (local: created for the run when not given).")

    @field_validator("speed", mode="before")
    @classmethod
    def _speed_range(cls, value: object) -> object:
        return parse_speed(value)

    @property
    def fixed_speed(self) -> float | None:
        """The speed the experiment sets; None under `auto`."""
        return None if self.speed == "auto" else float(self.speed)

    @model_validator(mode="after")
    def _eks_allow_list(self) -> Target:
        if self.kind == "eks":
            missing = [what for what, given in (("allowed_accounts: the AWS account ids", self.allowed_accounts),
                                                ("allowed_contexts: the kubeconfig contexts", self.allowed_contexts)) if not given]
            if missing:
                raise ValueError(f"an eks target needs {' and '.join(missing)} this experiment may touch")
            if any(not re.fullmatch(r"\d{12}", a) for a in self.allowed_accounts):
                raise ValueError("allowed_accounts: AWS account ids are 12 digits")
        return self



log = structlog.get_logger("target")

SIM_START_TIMEOUT = 60.0
SIM_STOP_TIMEOUT = 20.0


class SimulatorProcess(Protocol):
    """What a run asks of the simulator process it started: a subprocess.Popen, or a ForkedSimulator."""

    pid: int

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, sig: int) -> None: ...
    def kill(self) -> None: ...


_forks: ForkServer | None = None


def fork_simulators(server: ForkServer | None) -> ForkServer | None:
    """Start this process's simulators from `server` (None: each its own `python -m chaos.cli sim up`);
    returns the one used until now."""
    global _forks
    before, _forks = _forks, server
    return before


@dataclass
class Connection:
    endpoints: Endpoints
    speed: float
    cluster_epoch: float | None
    process: SimulatorProcess | None = None
    state_dir: Path | None = None

    def cluster_clock(self) -> Callable[[], float] | None:
        """The cluster's clock now (Unix time) as the simulator publishes it; None on EKS or for a
        simulator that publishes none (then the clock is wall time x speed)."""
        path = self.endpoints.extra.get("clock_file") if self.endpoints.target == "local" else None
        if not path:
            return None
        try:
            return ClockReader(Path(path)).cluster_now
        except (OSError, ValueError) as exc:
            log.warning("simulator_clock_unreadable", path=path, error=str(exc))
            return None

    def aws(self, service: str) -> Any:
        return aws_clients.client(self.endpoints, service)

    def kube(self) -> Any:
        return kube_clients.api_client(self.endpoints)

    @property
    def started_simulator(self) -> bool:
        return self.process is not None

    def stop(self) -> str:
        """Stop the simulator this run started (SIGTERM, then SIGKILL); '' when there was none."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return ""
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=SIM_STOP_TIMEOUT)
            return f"simulator pid {proc.pid} stopped"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return f"simulator pid {proc.pid} killed after {SIM_STOP_TIMEOUT:g}s"


def start_simulator(target: Target, state_dir: Path, log_path: Path) -> Connection:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "endpoints.json").unlink(missing_ok=True)
    up = ["up", "--speed", str(target.speed) if target.speed == "auto" else f"{target.speed:g}", "--state-dir", str(state_dir), "--log-format", "json",
          "--exit-with", str(os.getpid())]  # `spotchaos sim`'s arguments
    if target.simulator.config:
        up += ["--config", target.simulator.config]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc: SimulatorProcess | None = None
    # a session that starts many: forked from a process that imported the simulator once (this
    # process's, or the one the process that started this run names)
    forks = _forks or (ForkServer.attached(Path(env[FORKSERVER_ENV])) if env.get(FORKSERVER_ENV) else None)
    if forks is not None:
        try:
            proc = forks.spawn(up, log_path, env)
        except ForkServerError as exc:
            log.warning("simulator_fork_failed", error=str(exc), fallback="its own process")
    if proc is None:
        with log_path.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", *up], stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        wait_for(lambda: proc.poll() is not None or (state_dir / "endpoints.json").exists(), SIM_START_TIMEOUT, "the simulator to start")
    except WaitTimeout:
        proc.kill()
        raise TargetError(f"the simulator did not start within {SIM_START_TIMEOUT:g}s; see {log_path}") from None
    if proc.poll() is not None:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise TargetError(f"the simulator exited at start ({tail[0][:300]}); see {log_path}")
    endpoints = Endpoints.read(state_dir)
    speed, epoch = kube_clients.sim_clock(endpoints)
    return Connection(endpoints, speed, epoch, process=proc, state_dir=state_dir)


def running_simulator(state_dir: Path) -> Connection:
    try:
        endpoints = Endpoints.read(state_dir)
    except (OSError, ValueError, TypeError):
        raise TargetError(f"no running simulator in {state_dir}: start one with `spotchaos sim up --state-dir {state_dir}`, "
                          "or leave target.simulator.state_dir out to let the run start its own") from None
    if endpoints.pid is not None and not is_recorded_simulator(endpoints):
        raise TargetError(f"the simulator recorded in {state_dir} (pid {endpoints.pid}) is not running")
    speed, epoch = kube_clients.sim_clock(endpoints)
    return Connection(endpoints, speed, epoch, state_dir=state_dir)


def context_endpoints(kubeconfig: str | None, context: str | None, region: str | None) -> Endpoints:
    """A real cluster: a kubeconfig context (default: the current one) and an AWS region.  In a pod
    without a kubeconfig (the in-cluster runner), its service account, as context `in-cluster`."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise TargetError("an AWS region is needed on eks: give it (target.region, --region) or set AWS_REGION")
    default = os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config"))
    if kubeconfig is None and context in (None, kube_clients.IN_CLUSTER) and not os.path.exists(default) and kube_clients.in_a_pod():
        return Endpoints(target="eks", aws_endpoint_url=None, region=region, kubeconfig=kube_clients.IN_CLUSTER, kube_context=kube_clients.IN_CLUSTER)
    kubeconfig = kubeconfig or default
    try:
        contexts, current = kube_clients.contexts(kubeconfig)
    except Exception as exc:  # noqa: BLE001 - any unreadable kubeconfig is the same problem to the user
        raise TargetError(f"cannot read kubeconfig {kubeconfig}: {exc}") from None
    context = context or (current or {}).get("name")
    if context not in {c["name"] for c in contexts}:
        raise TargetError(f"kubeconfig {kubeconfig} has no context '{context}'")
    return Endpoints(target="eks", aws_endpoint_url=None, region=region, kubeconfig=kubeconfig, kube_context=context)


def eks(target: Target) -> Connection:
    return Connection(context_endpoints(target.kubeconfig, target.context, target.region), 1.0, None)


def check_guardrails(target: Target, conn: Connection) -> dict[str, str]:
    """eks: the account and context must be on the experiment's allow-lists."""
    if target.kind != "eks":
        return {"target": "local"}
    account = str(conn.aws("sts").get_caller_identity()["Account"])
    if account not in target.allowed_accounts:
        raise GuardrailError(f"AWS account {account} is not in target.allowed_accounts ({', '.join(target.allowed_accounts)}); refusing to run")
    if conn.endpoints.kube_context not in target.allowed_contexts:
        raise GuardrailError(f"kubeconfig context {conn.endpoints.kube_context} is not in target.allowed_contexts; refusing to run")
    return {"target": "eks", "account": account, "context": str(conn.endpoints.kube_context)}
