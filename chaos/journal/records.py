"""The journal's record kinds and, for each, a frozen class of the fields its writer puts in it,
which carries its kind.  Observers and injectors build these; `read_journal` reads every line back
into its class and lists the records of a known kind that do not fit instead of handing them to
the verdict.

A field without a default is one the verdict and the reports cannot do without, so a record
lacking it could not be used; every other field may be missing (None, or its stated default),
which keeps journals of older versions (that wrote fewer fields) reading.  Types are checked
strictly (no "5" for 5, no true for 1); a float field takes an int, as JSON does.  Keys a kind
does not list are kept: a newer version may add fields."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from enum import StrEnum
from functools import reduce
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class RecordKind(StrEnum):
    """Every kind of record this version writes.  Readers ignore kinds they do not know (a newer
    version wrote them); reports list them."""

    EXPERIMENT = "experiment"  # first: the spec, run id, owner
    PHASE = "phase"
    CONNECTED = "connected"
    PACE = "pace"  # the measured phase's clock speed and traffic bucket
    GUARDRAILS = "guardrails"
    SAFETY_LEVER = "safety_lever"
    STALE_RUN = "stale_run"
    INTENT = "intent"  # the undo log: announced before the side effect ...
    INTENT_DONE = "intent_done"  # ... what it made ...
    UNDONE = "undone"  # ... and its undo
    PROVISIONED = "provisioned"
    COMPONENTS = "components"  # the versions of Kubernetes, NTH, CA and LBC the run ran against
    API_RETRIES = "api_retries"
    NODE = "node"  # observers: Kubernetes
    POD = "pod"
    DEPLOYMENT = "deployment"
    NODECLAIM = "nodeclaim"  # Karpenter's NodeClaims, when the cluster serves karpenter.sh/v1
    EVENT = "event"
    TARGET = "target"  # observers: AWS
    INSTANCE = "instance"
    ASG_ACTIVITY = "asg_activity"
    FIS = "fis"
    FIS_ACTION = "fis_action"
    TRAFFIC = "traffic"  # one per second of load
    HEALTH = "health"  # one per real second: how the harness, the load generator and the simulator kept up
    TRAFFIC_SUMMARY = "traffic_summary"
    SHARDS = "shards"  # the load's shards on the cluster: started (pods and nodes) ...
    SHARD_LOST = "shard_lost"  # ... and one that stopped sending before its end
    PLAN = "plan"
    DRY_RUN = "dry_run"
    STEADY_STATE = "steady_state"
    INJECTED = "injected"
    RECLAIM_SENT = "reclaim_sent"
    ABORT = "abort"
    ERROR = "error"
    ROLLBACK = "rollback"
    VERDICT = "verdict"
    NOTE = "note"  # game days: a note typed by the driver or an observer
    GO_NO_GO = "go_no_go"  # game days: each go/no-go check and its evidence ...
    OVERRIDE = "override"  # ... a failed one the driver overrode, with the reason typed
    DECISION = "decision"  # ... and the driver's go (or stop) for the day and each later wave


class Record(BaseModel):
    """A journal record: `t` (cluster seconds since the run started), `wall` (UTC), its `kind` and
    `seq` (its line in the journal) are set by the journal when it writes the record; a writer
    gives only its kind's own fields.  Frozen: what was recorded is not changed by a reader.
    Fields a newer version added are kept (`model_extra`)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="allow")

    kind: str
    t: float = 0.0
    wall: str | None = None
    seq: int | None = None

    HEAD: ClassVar[frozenset[str]] = frozenset({"kind", "t", "wall", "seq"})

    def fields(self) -> dict[str, Any]:
        """The fields its writer gave (not the journal's head), as JSON values."""
        return self.model_dump(mode="json", exclude_unset=True, exclude=set(self.HEAD))

    def as_json(self) -> dict[str, Any]:
        """The record as its line in the journal holds it."""
        return {"t": self.t, "wall": self.wall, "kind": self.kind} | self.fields() | ({"seq": self.seq} if self.seq is not None else {})


class UnknownRecord(Record):
    """A record of a kind this version does not know (a newer version wrote it): kept whole, listed
    by reports, read by no check."""


# The run and its set-up


class ExperimentRecord(Record):
    kind: Literal["experiment"] = "experiment"
    name: str | None = None
    spec: dict[str, Any] | None = None
    dry_run: bool | None = None
    run_id: str | None = None
    owner: dict[str, Any] | None = None
    report_dir: str | None = None


class PhaseRecord(Record):
    kind: Literal["phase"] = "phase"
    phase: str
    target: str | None = None
    profile: str | None = None


class ConnectedRecord(Record):
    kind: Literal["connected"] = "connected"
    target: str | None = None
    speed: float | None = None
    region: str | None = None
    started_simulator: bool | None = None
    simulator_pid: int | None = None
    kube_context: str | None = None
    endpoints: dict[str, Any] | None = None
    state_dir: str | None = None


class PaceRecord(Record):
    """How fast cluster time runs while the experiment measures, and the width of a traffic bucket
    (chaos/run/pace.py): written once provisioning is done, before the traffic starts."""
    kind: Literal["pace"] = "pace"
    speed: float  # cluster seconds per real second while the traffic runs (nominal; the clock slows when starved)
    bucket: float  # real seconds per traffic record
    bucket_cluster: float  # cluster seconds per traffic record at `speed`
    requests_per_bucket: float
    auto: bool  # `speed: auto` chose it (False: the experiment or the running simulator fixed it)
    reason: str
    provision_speed: float | None = None  # the nominal speed while provisioning, when it was another


class GuardrailsRecord(Record):
    kind: Literal["guardrails"] = "guardrails"
    target: str | None = None
    account: str | None = None
    context: str | None = None


class SafetyLeverRecord(Record):
    kind: Literal["safety_lever"] = "safety_lever"
    status: str
    reason: str | None = None


class StaleRunRecord(Record):
    kind: Literal["stale_run"] = "stale_run"
    run_id: str | None = None
    pid: int | None = None
    report_dir: str | None = None
    message: str | None = None


class IntentRecord(Record):
    kind: Literal["intent"] = "intent"
    intent: int
    action: str
    undo: str
    stage: str
    params: dict[str, Any]


class IntentDoneRecord(Record):
    kind: Literal["intent_done"] = "intent_done"
    intent: int
    result: Any | None = None


class UndoneRecord(Record):
    kind: Literal["undone"] = "undone"
    intent: int
    ok: bool
    detail: str | None = None
    by: str | None = None


class ProvisionedRecord(Record):
    kind: Literal["provisioned"] = "provisioned"
    profile: str | None = None
    cluster: str | None = None
    url: str | None = None
    twin: list[str] | None = None  # a twin's build: what it made and what it could not model


class ComponentsRecord(Record):
    kind: Literal["components"] = "components"
    kubernetes: str | None = None
    nth: str | None = None
    cluster_autoscaler: str | None = None
    lbc: str | None = None
    karpenter: str | None = None
    error: str | None = None


class ApiRetriesRecord(Record):
    kind: Literal["api_retries"] = "api_retries"
    counts: dict[str, int]
    total: int | None = None


# Observers: Kubernetes


class NodeRecord(Record):
    kind: Literal["node"] = "node"
    node: str
    instance: str | None = None  # from spec.providerID; a node without one has none
    group: str | None = None
    az: str | None = None
    type: str | None = None
    capacity: str | None = None
    ready: bool
    unschedulable: bool | None = None
    nth_taint: bool | None = None
    karpenter_taint: bool | None = None  # karpenter.sh/disrupted: Karpenter's termination controller is on it
    exclude_lb: bool | None = None
    deleted: bool | None = None
    # the run time by which the API server had written the cordon / the taints (the managedFields
    # entry owning the field: its second, plus one): dated by the cluster, not by the watch's delivery
    cordon_by: float | None = None
    taint_by: float | None = None


class NodeClaimRecord(Record):
    kind: Literal["nodeclaim"] = "nodeclaim"
    nodeclaim: str
    nodepool: str | None = None
    instance: str | None = None  # from status.providerID, once launched
    node: str | None = None
    type: str | None = None
    capacity: str | None = None
    launched: bool | None = None
    registered: bool | None = None
    initialized: bool | None = None
    drained: bool | None = None  # its node's pods are gone (Karpenter's termination controller)
    deleting: bool | None = None  # deletionTimestamp set: an interruption, consolidation or garbage collection
    deleted: bool | None = None


class PodRecord(Record):
    kind: Literal["pod"] = "pod"
    pod: str  # namespace/name
    node: str | None = None
    ip: str | None = None
    owner_kind: str | None = None
    owner: str | None = None  # the owner's name (a Deployment's pods: its ReplicaSet, `<deployment>-<pod-template-hash>`)
    phase: str | None = None
    ready: bool
    terminating: bool | None = None
    deleted: bool | None = None


class DeploymentRecord(Record):
    kind: Literal["deployment"] = "deployment"
    name: str
    namespace: str | None = None
    desired: int
    ready: int


class EventRecord(Record):
    kind: Literal["event"] = "event"
    reason: str | None = None
    object: str | None = None
    message: str | None = None
    source: str | None = None


# Observers: AWS


class TargetRecord(Record):
    kind: Literal["target"] = "target"
    group: str | None = None
    target: str
    port: int | None = None
    state: str
    reason: str | None = None


class InstanceRecord(Record):
    kind: Literal["instance"] = "instance"
    instance: str
    state: str
    lifecycle: str | None = None
    type: str | None = None
    az: str | None = None
    group: str | None = None
    reason: str | None = None


class AsgActivityRecord(Record):
    kind: Literal["asg_activity"] = "asg_activity"
    group: str
    activity: str | None = None
    status: str | None = None
    description: str | None = None
    cause: str | None = None
    desired: int | None = None


class FisRecord(Record):
    kind: Literal["fis"] = "fis"
    experiment: str
    state: str
    reason: str | None = None


class FisActionRecord(Record):
    kind: Literal["fis_action"] = "fis_action"
    experiment: str
    action: str | None = None
    action_id: str | None = None
    started_t: float
    state: str | None = None


# Traffic


class TrafficRecord(Record):
    """One second of load: request counts by outcome, and the second's latency histogram (HDR's
    encoded form)."""
    kind: Literal["traffic"] = "traffic"
    second: int
    start_t: float
    end_t: float
    requests: int
    ok: int = 0
    balancer_5xx: int = 0
    backend_5xx: int = 0
    connection: int = 0
    timeout: int = 0
    other: int = 0
    p99_ms: float | None = None
    max_ms: float | None = None
    hist: str | None = None
    late: int = 0  # requests the generator sent 10 ms or more after their time (its own lateness)
    late_max_ms: float = 0.0


class HealthRecord(Record):
    """One real second of the run's own health: a figure is missing where it cannot be measured
    (no simulator on EKS, no /proc off Linux).  Lags are real milliseconds."""
    kind: Literal["health"] = "health"
    start_t: float  # run time the second began at
    end_t: float
    harness_lag_ms: float  # the harness's event loop: the worst delay of its heartbeat
    speed: float | None = None  # cluster seconds per real second over this second (the effective speed)
    sim_lag_ms: float | None = None  # the simulator's event loop: its worst heartbeat delay (its last full second)
    sim_stalled_s: float | None = None  # real seconds the simulator's clock stood still
    harness_cpu_wait: float | None = None  # share of the second the harness's loop was ready to run but waited for a CPU
    sim_cpu_wait: float | None = None  # the same for the simulator's loop (its last full second)
    steal_pct: float | None = None  # CPU steal time, % of the machine (a VM's neighbours)
    load1: float | None = None  # the machine's 1-minute load average
    cpus: int | None = None


class TrafficSummaryRecord(Record):
    kind: Literal["traffic_summary"] = "traffic_summary"
    url: str | None = None
    method: str | None = None
    duration_s: float | None = None
    scheduled: int | None = None
    dispatched: int | None = None
    completed: int | None = None
    intended_rps: float | None = None
    achieved_rps: float | None = None
    rate_held: bool | None = None
    generator_lateness_ms: dict[str, Any] | None = None
    outcomes: dict[str, int] | None = None
    errors: int | None = None
    error_rate: float | None = None
    statuses: dict[str, int] | None = None
    latency_ms: dict[str, Any] | None = None
    latency_ok_ms: dict[str, Any] | None = None


# The experiment itself


class PlanRecord(Record):
    kind: Literal["plan"] = "plan"
    injections: list[Any] | None = None
    nodes: int | None = None
    interrupted_at_most: int | None = None
    share: float | None = None
    url: str | None = None


class DryRunRecord(Record):
    kind: Literal["dry_run"] = "dry_run"
    message: str | None = None
    plan: list[Any] | None = None


class SteadyStateRecord(Record):
    kind: Literal["steady_state"] = "steady_state"
    when: str
    ok: bool
    problems: list[str] | None = None
    requests: int | None = None
    error_rate: float | None = None
    ready: int | None = None
    desired: int | None = None


class InjectedRecord(Record):
    """One node an injection took (or, for a capacity error, the groups and AZs it holds)."""
    kind: Literal["injected"] = "injected"
    injection: str | None = None
    via: str | None = None
    action: str | None = None
    wave: int | None = None
    instance: str | None = None
    node: str | None = None
    group: str | None = None
    az: str | None = None
    type: str | None = None
    reclaim_t: float | None = None  # when the instance is reclaimed; none if the fault never reclaims it
    reclaims: bool | None = None
    fis_experiment: str | None = None
    warned: bool = True  # false: the node was lost without a notice
    stopped_for: float | None = None
    azs: list[str | None] | None = None
    groups: list[str] | None = None
    until_t: float | None = None


class ReclaimSentRecord(Record):
    kind: Literal["reclaim_sent"] = "reclaim_sent"
    instance: str


class AbortRecord(Record):
    kind: Literal["abort"] = "abort"
    reason: str | None = None


class ErrorRecord(Record):
    kind: Literal["error"] = "error"
    where: str | None = None
    message: str | None = None
    fatal: bool | None = None


class RollbackRecord(Record):
    kind: Literal["rollback"] = "rollback"
    step: str
    ok: bool
    detail: str


class VerdictRecord(Record):
    kind: Literal["verdict"] = "verdict"
    status: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    hypotheses: list[dict[str, Any]] | None = None


# Game days


class ShardsRecord(Record):
    kind: Literal["shards"] = "shards"
    job: str
    namespace: str
    shards: int
    pods: dict[str, str] | None = None  # index -> pod
    nodes: dict[str, str] | None = None  # index -> node
    start_at: float | None = None  # the schedule's t=0, Unix time


class ShardLostRecord(Record):
    kind: Literal["shard_lost"] = "shard_lost"
    index: int
    share: float  # of the load
    pod: str | None = None
    node: str | None = None
    reason: str
    last_second: int | None = None  # the last second of load it reported


class NoteRecord(Record):
    kind: Literal["note"] = "note"
    text: str
    author: str
    role: str | None = None  # driver or observer


class GoNoGoRecord(Record):
    kind: Literal["go_no_go"] = "go_no_go"
    check: str
    ok: bool
    evidence: str


class OverrideRecord(Record):
    kind: Literal["override"] = "override"
    check: str
    reason: str
    author: str | None = None


class DecisionRecord(Record):
    kind: Literal["decision"] = "decision"
    gate: str  # "go" (the day) or "wave N of INJECTION"
    go: bool
    author: str | None = None


KNOWN: tuple[type[Record], ...] = (
    ExperimentRecord, PhaseRecord, ConnectedRecord, PaceRecord, GuardrailsRecord, SafetyLeverRecord, StaleRunRecord,
    IntentRecord, IntentDoneRecord, UndoneRecord, ProvisionedRecord, ComponentsRecord, ApiRetriesRecord,
    NodeRecord, PodRecord, DeploymentRecord, NodeClaimRecord, EventRecord, TargetRecord, InstanceRecord,
    AsgActivityRecord, FisRecord, FisActionRecord, TrafficRecord, HealthRecord, TrafficSummaryRecord,
    ShardsRecord, ShardLostRecord, PlanRecord, DryRunRecord, SteadyStateRecord, InjectedRecord,
    ReclaimSentRecord, AbortRecord, ErrorRecord, RollbackRecord, VerdictRecord, NoteRecord, GoNoGoRecord,
    OverrideRecord, DecisionRecord,
)
CLASS_OF: dict[str, type[Record]] = {c.model_fields["kind"].default: c for c in KNOWN}
assert set(CLASS_OF) == set(RecordKind), "every RecordKind has its record class"
_ANY_KNOWN: TypeAdapter[Record] = TypeAdapter(Annotated[reduce(operator.or_, KNOWN), Field(discriminator="kind")])  # type: ignore[arg-type]

R = TypeVar("R", bound=Record)


def parse_record(data: dict[str, Any]) -> Record:
    """The typed record a journal line holds.  Raises `RecordProblem` naming the fields when a
    record of a known kind does not fit them; a kind this version does not know is an
    `UnknownRecord`."""
    kind = data.get("kind")
    if kind not in CLASS_OF:
        return UnknownRecord.model_validate(data)
    try:
        return _ANY_KNOWN.validate_python(data)
    except ValidationError as exc:
        raise RecordProblem("; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or kind}: {e['msg'].lower()}" for e in exc.errors())) from None


class RecordProblem(ValueError):
    """A record of a known kind whose fields do not fit it."""


def of(records: Iterable[Record], kind: type[R]) -> list[R]:
    """The records of one kind, in journal order, typed."""
    return [r for r in records if isinstance(r, kind)]


def run_speed(records: list[Record]) -> float:
    """The speed cluster time ran at while the experiment measured: its `pace` record's (a run under
    `speed: auto` provisions faster), else the speed it connected at; 1 when neither says."""
    paced = [r for r in records if isinstance(r, PaceRecord)]
    if paced:
        return paced[-1].speed
    connected = next((r for r in records if isinstance(r, ConnectedRecord) and r.speed), None)
    return connected.speed if connected is not None and connected.speed else 1.0
