"""What a run is made of: its phases, the service under test, the caller's options, the frozen
context every part of the run shares (the experiment, its id, clock, journal and undo log), and
the mutable state of what it connected to and started."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from chaos.aws.faults import AwsFaults
from chaos.aws.metadata_mock import MetadataMock
from chaos.aws.observers import FisExperiments, Poller, SafetyLeverWatch
from chaos.clock import RunClock
from chaos.identity import RUN_ID_TAG
from chaos.journal import Journal
from chaos.kube.watches import KubeWatch
from chaos.observe.traffic import TrafficRun
from chaos.run.go_no_go import GoNoGoCheck
from chaos.run.pace import Pace
from chaos.spec import Experiment
from chaos.target import Connection
from chaos.undo.steps import Undoer
from chaos.undo.writer import UndoWriter

TICK = 0.2  # real seconds between looks at the journal
SYNC_TIMEOUT = 30.0
RECLAIM_GRACE = 30.0  # cluster seconds after an expected reclaim before observation may end without it
PROVISION_TIMEOUT = 300.0
WARMUP_SETTLE_TIMEOUT = 10.0  # real seconds
SHARD_START_LOCAL_S = 10.0  # real seconds from the load's Job to its t=0: the simulator starts pods at once ...
SHARD_START_EKS_S = 90.0  # ... EKS nodes pull the harness image first


class Phase(StrEnum):
    """Where a run is, in order; journaled as `phase` records and named by aborts and errors."""

    CREATED = "created"
    CONNECT = "connect"
    GUARDRAILS = "guardrails"
    PROVISION = "provision"
    OBSERVE = "observe"
    SETTLE = "settle"  # a simulator kept running: the runs before this one done recovering
    PLAN = "plan"
    STEADY_STATE = "steady-state"
    INJECT = "inject"
    OBSERVE_UNTIL_DECIDED = "observe-until-decided"
    TAIL = "tail"
    STOP_TRAFFIC = "stop-traffic"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class ServiceRef:
    """The service under test: where its pods run and where its requests go."""

    namespace: str
    deployment: str
    ingress: str
    path: str  # the predict path behind the Ingress


DEFAULT_SERVICE = ServiceRef("default", "resnet-v1", "resnet-service", "/v1/models/resnet:predict")


@dataclass
class RunOptions:
    report_dir: Path
    dry_run: bool = False
    on_phase: Callable[[str], None] | None = None
    run_id: str | None = None
    on_warning: Callable[[str], None] | None = None  # a line for the user (the CLI prints it); always logged and journaled too
    # a game day's driver: asked before the first injection (after the go/no-go checks) and before each later wave
    gate: Callable[[GateRequest], Awaitable[GateAnswer]] | None = None


@dataclass(frozen=True)
class GateRequest:
    gate: str  # "go" (the day), or "wave N of injections[i]"
    checks: tuple[GoNoGoCheck, ...] = ()
    cluster: str = ""  # what the driver types to go
    last: str = ""  # what the last wave did


@dataclass(frozen=True)
class GateAnswer:
    go: bool
    author: str = "driver"
    overrides: tuple[tuple[str, str], ...] = ()  # (check, reason typed) for each failed check the driver overrode


@dataclass(frozen=True)
class RunContext:
    """What every part of a run shares and none may replace."""

    spec: Experiment
    options: RunOptions
    run_id: str
    clock: RunClock
    journal: Journal
    undo: UndoWriter

    def tags(self) -> dict[str, str]:
        """On every AWS resource a fault creates: found again by them when the journal is lost."""
        return {"spotchaos:experiment": self.spec.name, RUN_ID_TAG: self.run_id}

    def alarms(self) -> list[str]:
        return [c.cloudwatch_alarm for c in self.spec.stop_conditions if c.cloudwatch_alarm]

    def warn(self, message: str) -> None:
        if self.options.on_warning is not None:
            self.options.on_warning(message)


@dataclass(frozen=True)
class Connected:
    """What connecting gave the run: the connection, the AWS calls that inject faults, the
    metadata mock's control API (the local simulator's) and what undoes the run's intents."""

    conn: Connection
    faults: AwsFaults
    metadata: MetadataMock | None
    undoer: Undoer


@dataclass(frozen=True)
class Serving:
    """Where the service under test is: its URL, its Kubernetes names and the cluster's name."""

    url: str
    service: ServiceRef
    cluster_name: str | None


@dataclass(frozen=True)
class Observers:
    """The threads that read the cluster into the journal, synced once: the FIS experiments and the
    safety lever followed, the watches and the pollers."""

    fis: FisExperiments
    lever: SafetyLeverWatch
    watches: tuple[KubeWatch, ...]
    pollers: tuple[Poller, ...]


@dataclass(frozen=True)
class Ready:
    """What the experiment runs with, once connected, provisioned and observing."""

    connected: Connected
    serving: Serving
    observers: Observers


@dataclass
class RunState:
    """What the run has so far, for the phases after and for its rollback: each phase's frozen
    result once it finished (None until then), and the handles of what is still running."""

    conn: Connection | None = None  # as soon as there is one: the rollback stops a simulator the run started even if connecting failed later
    connected: Connected | None = None
    serving: Serving | None = None
    components: Mapping[str, str] = field(default_factory=dict)  # the versions found (the journal's components record)
    observers: Observers | None = None
    stop_threads: threading.Event = field(default_factory=threading.Event)
    pace: Pace | None = None  # how fast the measured phase runs, and the traffic bucket
    traffic: TrafficRun | None = None
    traffic_task: asyncio.Task[Any] | None = None
    provision_task: asyncio.Future[Any] | None = None

    @property
    def service(self) -> ServiceRef:
        return self.serving.service if self.serving is not None else DEFAULT_SERVICE

    def ready(self) -> Ready:
        """The results the experiment needs, once every phase before it finished."""
        if self.connected is None or self.serving is None or self.observers is None:
            raise RuntimeError("the experiment started before connecting, provisioning and observing finished")
        return Ready(self.connected, self.serving, self.observers)
