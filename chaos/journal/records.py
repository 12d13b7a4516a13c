"""The journal's record kinds and, for each, the fields its writer puts in it: one TypedDict per
kind.  Observers and injectors build these; `read_journal` checks every record of a known kind
against its fields and lists the ones that do not fit instead of handing them to the verdict.

`Required` marks what the verdict and the reports read without a default, so a record lacking it
could not be used; every other field may be missing (`total=False`), which keeps journals of older versions (that
wrote fewer fields) reading.  Types are checked strictly (no "5" for 5, no true for 1); a float
field takes an int, as JSON does.  Keys a kind does not list are allowed: a newer version may add
fields."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Any, Required

from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import (
    TypedDict,  # pydantic validates typing_extensions.TypedDict on Python 3.11
)

STRICT = ConfigDict(strict=True)


class RecordKind(StrEnum):
    """Every kind of record this version writes.  Readers ignore kinds they do not know (a newer
    version wrote them); reports list them."""

    EXPERIMENT = "experiment"  # first: the spec, run id, owner
    PHASE = "phase"
    CONNECTED = "connected"
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


# The run and its set-up


class ExperimentRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    name: str
    spec: dict[str, Any]
    dry_run: bool
    run_id: str
    owner: dict[str, Any]
    report_dir: str


class PhaseRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    phase: Required[str]
    target: str
    profile: str


class ConnectedRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    target: str
    speed: float
    region: str | None
    started_simulator: bool
    simulator_pid: int | None
    kube_context: str | None
    endpoints: dict[str, Any]
    state_dir: str | None


class GuardrailsRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    target: str
    account: str | None
    context: str | None


class SafetyLeverRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    status: Required[str]
    reason: str | None


class StaleRunRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    run_id: str
    pid: int | None
    report_dir: str
    message: str


class IntentRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    intent: Required[int]
    action: Required[str]
    undo: Required[str]
    stage: Required[str]
    params: Required[dict[str, Any]]


class IntentDoneRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    intent: Required[int]
    result: Any


class UndoneRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    intent: Required[int]
    ok: Required[bool]
    detail: str
    by: str


class ProvisionedRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    profile: str
    cluster: str
    url: str | None


class ComponentsRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    kubernetes: str
    nth: str
    cluster_autoscaler: str
    lbc: str
    karpenter: str
    error: str


class ApiRetriesRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    counts: Required[dict[str, int]]
    total: int


# Observers: Kubernetes


class NodeRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    node: Required[str]
    instance: str | None  # from spec.providerID; a node without one has none
    group: str | None
    az: str | None
    type: str | None
    capacity: str | None
    ready: Required[bool]
    unschedulable: bool
    nth_taint: bool
    karpenter_taint: bool  # karpenter.sh/disrupted: Karpenter's termination controller is on it
    exclude_lb: bool
    deleted: bool
    # the run time by which the API server had written the cordon / the taints (the managedFields
    # entry owning the field: its second, plus one): dated by the cluster, not by the watch's delivery
    cordon_by: float | None
    taint_by: float | None


class NodeClaimRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    nodeclaim: Required[str]
    nodepool: str | None
    instance: str | None  # from status.providerID, once launched
    node: str | None
    type: str | None
    capacity: str | None
    launched: bool
    registered: bool
    initialized: bool
    drained: bool  # its node's pods are gone (Karpenter's termination controller)
    deleting: bool  # deletionTimestamp set: an interruption, consolidation or garbage collection
    deleted: bool


class PodRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    pod: Required[str]  # namespace/name
    node: str | None
    ip: str | None
    owner_kind: str | None
    phase: str | None
    ready: Required[bool]
    terminating: bool
    deleted: bool


class DeploymentRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    name: Required[str]
    namespace: str | None
    desired: Required[int]
    ready: Required[int]


class EventRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    reason: str | None
    object: str
    message: str
    source: str


# Observers: AWS


class TargetRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    group: str
    target: Required[str]
    port: int | None
    state: Required[str]
    reason: str | None


class InstanceRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    instance: Required[str]
    state: Required[str]
    lifecycle: str | None
    type: str | None
    az: str | None
    group: str | None
    reason: str | None


class AsgActivityRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    group: Required[str]
    activity: str
    status: str
    description: str
    cause: str
    desired: int | None


class FisRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    experiment: Required[str]
    state: Required[str]
    reason: str | None


class FisActionRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    experiment: Required[str]
    action: str
    action_id: str | None
    started_t: Required[float]
    state: str | None


# Traffic


class TrafficRecord(TypedDict, total=False):
    """One second of load: request counts by outcome, and the second's latency histogram (HDR's
    encoded form)."""

    __pydantic_config__ = STRICT  # type: ignore[misc]
    second: Required[int]
    start_t: Required[float]
    end_t: Required[float]
    requests: Required[int]
    ok: int
    balancer_5xx: int
    backend_5xx: int
    connection: int
    timeout: int
    other: int
    p99_ms: float | None
    max_ms: float | None
    hist: str | None
    late: int  # requests the generator sent 10 ms or more after their time (its own lateness)
    late_max_ms: float


class HealthRecord(TypedDict, total=False):
    """One real second of the run's own health: a figure is missing where it cannot be measured
    (no simulator on EKS, no /proc off Linux).  Lags are real milliseconds."""

    __pydantic_config__ = STRICT  # type: ignore[misc]
    start_t: Required[float]  # run time the second began at
    end_t: Required[float]
    harness_lag_ms: Required[float]  # the harness's event loop: the worst delay of its heartbeat
    speed: float  # cluster seconds per real second over this second (the effective speed)
    sim_lag_ms: float | None  # the simulator's event loop: its worst heartbeat delay (its last full second)
    sim_stalled_s: float | None  # real seconds the simulator's clock stood still
    harness_cpu_wait: float | None  # share of the second the harness's loop was ready to run but waited for a CPU
    sim_cpu_wait: float | None  # the same for the simulator's loop (its last full second)
    steal_pct: float | None  # CPU steal time, % of the machine (a VM's neighbours)
    load1: float | None  # the machine's 1-minute load average
    cpus: int | None


class TrafficSummaryRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    url: str
    method: str
    duration_s: float
    scheduled: int
    dispatched: int
    completed: int
    intended_rps: float
    achieved_rps: float
    rate_held: bool
    generator_lateness_ms: dict[str, Any]
    outcomes: dict[str, int]
    errors: int
    error_rate: float
    statuses: dict[str, int]
    latency_ms: dict[str, Any]
    latency_ok_ms: dict[str, Any]


# The experiment itself


class PlanRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    injections: list[Any]
    nodes: int
    interrupted_at_most: int
    share: float
    url: str | None


class DryRunRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    message: str
    plan: list[Any]


class SteadyStateRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    when: Required[str]
    ok: Required[bool]
    problems: list[str]
    requests: int
    error_rate: float
    ready: int | None
    desired: int | None


class InjectedRecord(TypedDict, total=False):
    """One node an injection took (or, for a capacity error, the groups and AZs it holds)."""

    __pydantic_config__ = STRICT  # type: ignore[misc]
    injection: str
    via: str
    action: str
    wave: int
    instance: str | None
    node: str | None
    group: str | None
    az: str | None
    type: str | None
    reclaim_t: float | None  # when the instance is reclaimed; none if the fault never reclaims it
    reclaims: bool
    fis_experiment: str | None
    warned: bool  # false: the node was lost without a notice
    stopped_for: float
    azs: list[str | None]
    groups: list[str]
    until_t: float


class ReclaimSentRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    instance: Required[str]


class AbortRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    reason: str


class ErrorRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    where: str | None
    message: str
    fatal: bool


class RollbackRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    step: Required[str]
    ok: Required[bool]
    detail: Required[str]


class VerdictRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    status: str
    exit_code: int
    reason: str
    hypotheses: list[dict[str, Any]]


# Game days


class ShardsRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    job: Required[str]
    namespace: Required[str]
    shards: Required[int]
    pods: dict[str, str]  # index -> pod
    nodes: dict[str, str]  # index -> node
    start_at: float  # the schedule's t=0, Unix time


class ShardLostRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    index: Required[int]
    share: Required[float]  # of the load
    pod: str
    node: str | None
    reason: Required[str]
    last_second: int | None  # the last second of load it reported


class NoteRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    text: Required[str]
    author: Required[str]
    role: str  # driver or observer


class GoNoGoRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    check: Required[str]
    ok: Required[bool]
    evidence: Required[str]


class OverrideRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    check: Required[str]
    reason: Required[str]
    author: str


class DecisionRecord(TypedDict, total=False):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    gate: Required[str]  # "go" (the day) or "wave N of INJECTION"
    go: Required[bool]
    author: str


FIELDS: dict[RecordKind, type] = {
    RecordKind.EXPERIMENT: ExperimentRecord,
    RecordKind.PHASE: PhaseRecord,
    RecordKind.CONNECTED: ConnectedRecord,
    RecordKind.GUARDRAILS: GuardrailsRecord,
    RecordKind.SAFETY_LEVER: SafetyLeverRecord,
    RecordKind.STALE_RUN: StaleRunRecord,
    RecordKind.INTENT: IntentRecord,
    RecordKind.INTENT_DONE: IntentDoneRecord,
    RecordKind.UNDONE: UndoneRecord,
    RecordKind.PROVISIONED: ProvisionedRecord,
    RecordKind.COMPONENTS: ComponentsRecord,
    RecordKind.API_RETRIES: ApiRetriesRecord,
    RecordKind.NODE: NodeRecord,
    RecordKind.POD: PodRecord,
    RecordKind.DEPLOYMENT: DeploymentRecord,
    RecordKind.NODECLAIM: NodeClaimRecord,
    RecordKind.EVENT: EventRecord,
    RecordKind.TARGET: TargetRecord,
    RecordKind.INSTANCE: InstanceRecord,
    RecordKind.ASG_ACTIVITY: AsgActivityRecord,
    RecordKind.FIS: FisRecord,
    RecordKind.FIS_ACTION: FisActionRecord,
    RecordKind.TRAFFIC: TrafficRecord,
    RecordKind.HEALTH: HealthRecord,
    RecordKind.TRAFFIC_SUMMARY: TrafficSummaryRecord,
    RecordKind.SHARDS: ShardsRecord,
    RecordKind.SHARD_LOST: ShardLostRecord,
    RecordKind.PLAN: PlanRecord,
    RecordKind.DRY_RUN: DryRunRecord,
    RecordKind.STEADY_STATE: SteadyStateRecord,
    RecordKind.INJECTED: InjectedRecord,
    RecordKind.RECLAIM_SENT: ReclaimSentRecord,
    RecordKind.ABORT: AbortRecord,
    RecordKind.ERROR: ErrorRecord,
    RecordKind.ROLLBACK: RollbackRecord,
    RecordKind.VERDICT: VerdictRecord,
    RecordKind.NOTE: NoteRecord,
    RecordKind.GO_NO_GO: GoNoGoRecord,
    RecordKind.OVERRIDE: OverrideRecord,
    RecordKind.DECISION: DecisionRecord,
}


@cache
def _adapter(kind: RecordKind) -> TypeAdapter[Any]:
    return TypeAdapter(FIELDS[kind])


def record_problem(record: dict[str, Any]) -> str | None:
    """What is wrong with a record of a known kind, in one line naming the fields (None: it fits,
    or its kind is one this version does not know)."""
    try:
        kind = RecordKind(record.get("kind"))
    except ValueError:
        return None
    try:
        _adapter(kind).validate_python(record)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or kind}: {e['msg'].lower()}" for e in exc.errors())
    return None
