"""One experiment, start to end: connect -> guardrails -> provision -> observe -> plan -> steady
state (traffic warms up) -> inject (waves) -> observe until every node and capacity hypothesis is
decided or the deadline passes -> stop traffic -> steady state again -> rollback -> verdict.

Rollback always runs (also on Ctrl-C, SIGTERM or a crash): FIS experiments stopped, metadata
notices withdrawn, queued reclaims cancelled, traffic and observers stopped, what the run
provisioned torn down and the simulator it started stopped; each step is journaled and a failing
step does not keep the others from running."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console

from chaos import api_errors, run_registry
from chaos.aws.faults import AwsFaults
from chaos.aws.observers import (
    FisExperiments,
    Instances,
    Poller,
    SafetyLeverWatch,
    ScalingActivities,
    TargetHealth,
)
from chaos.clock import RunClock
from chaos.errors import ChaosError, GuardrailError, InjectionError, SafetyLeverEngaged, TargetError
from chaos.inject import FireContext, injector_for
from chaos.inject.metadata_mock import MetadataMock
from chaos.inject.selection import Candidate, candidates, serving_pods_per_node
from chaos.journal import Journal
from chaos.kube.watches import KubeWatch, kube_watches
from chaos.milestones import MilestoneFold
from chaos.observe.traffic import TrafficRun
from chaos.run_identity import (
    PROFILE_TAG,
    RUN_ID_ANNOTATION,
    RUN_ID_TAG,
    Owner,
    new_run_id,
    run_label,
)
from chaos.spec import Experiment, Injection, Scope
from chaos.steady_state import DEFAULT_ERROR_LIMIT, steady_state_problems, stop_condition_breach
from chaos.target import Connection, check_guardrails, eks, running_simulator, start_simulator
from chaos.traffic_fold import TrafficFold
from chaos.undo_log import Stage, UndoOp, pending, undo_step_name
from chaos.undo_steps import Undoer
from chaos.undo_writer import UndoWriter
from chaos.verify import Verdict, evaluate, node_checks_decided, verdict
from cluster.retry_tally import TALLY
from cluster.waiting import WaitTimeout, until

log = structlog.get_logger("run")

TICK = 0.2  # real seconds between looks at the journal
SYNC_TIMEOUT = 30.0
RECLAIM_GRACE = 30.0  # cluster seconds after an expected reclaim before observation may end without it
PROVISION_TIMEOUT = 300.0
WARMUP_SETTLE_TIMEOUT = 10.0  # real seconds


class Phase(StrEnum):
    """Where a run is, in order; journaled as `phase` records and named by aborts and errors."""

    CREATED = "created"
    CONNECT = "connect"
    GUARDRAILS = "guardrails"
    PROVISION = "provision"
    OBSERVE = "observe"
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


@dataclass
class RunOptions:
    report_dir: Path
    dry_run: bool = False
    on_phase: Callable[[str], None] | None = None
    run_id: str | None = None
    on_warning: Callable[[str], None] | None = None  # a line for the user (the CLI prints it); always logged and journaled too


@dataclass
class _State:
    conn: Connection | None = None
    url: str | None = None
    faults: AwsFaults | None = None
    metadata: MetadataMock | None = None
    fis: FisExperiments | None = None
    lever: SafetyLeverWatch | None = None
    watches: list[KubeWatch] = field(default_factory=list)
    pollers: list[Poller] = field(default_factory=list)
    stop_threads: threading.Event = field(default_factory=threading.Event)
    traffic: TrafficRun | None = None
    traffic_task: asyncio.Task[Any] | None = None
    injected: list[dict[str, Any]] = field(default_factory=list)
    pending_reclaims: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    inject_tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    inject_start: float | None = None
    role_arn: str | None = None
    queue_url: str | None = None
    provision_task: asyncio.Future[Any] | None = None
    undoer: Undoer | None = None
    reclaim_intents: dict[str, int] = field(default_factory=dict)


class Run:
    def __init__(self, spec: Experiment, options: RunOptions) -> None:
        self.spec = spec
        self.options = options
        self.clock = RunClock(started=False)
        self.run_id = options.run_id or new_run_id(spec.name)
        self.journal = Journal(options.report_dir / "journal.jsonl", self.clock)
        self.undo = UndoWriter(self.journal)
        self.traffic = TrafficFold()  # kept as records arrive: the checks made each tick cost O(window)
        self.journal.listeners.append(self.traffic.add)
        self.milestones = MilestoneFold()  # likewise the interrupted nodes' milestones, for "decided" and the live view
        self.journal.listeners.append(self.milestones.add)
        self.state = _State()
        self.phase = Phase.CREATED
        self.abort_reason: str | None = None
        self.verdict: Verdict | None = None
        self.service = ServiceRef("default", "resnet-v1", "resnet-service", "/v1/models/resnet:predict")
        self.cluster_name: str | None = None
        self._retry_base = TALLY.snapshot()  # the tally is the process's: a run counts from its start
        self._retries_written: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers
    def _journal_retries(self) -> None:
        """The API calls retried since the run began, per API, when that changed (cumulative)."""
        now = TALLY.snapshot()
        counts = {api: n - self._retry_base.get(api, 0) for api, n in now.items() if n > self._retry_base.get(api, 0)}
        if counts != self._retries_written:
            self._retries_written = counts
            self.journal.write("api_retries", counts=counts, total=sum(counts.values()))

    def _phase(self, phase: Phase, **fields: Any) -> None:
        self._journal_retries()
        self.phase = phase
        self.journal.write("phase", phase=phase, **fields)
        log.info("phase", phase=phase, **fields)
        if self.options.on_phase is not None:
            self.options.on_phase(phase)

    def abort(self, reason: str) -> None:
        if self.abort_reason is None:
            self.abort_reason = reason
            self.journal.write("abort", reason=reason)
            log.warning("abort", reason=reason)

    # ------------------------------------------------------------------ life cycle
    async def execute(self) -> Verdict:
        spec = self.spec
        self.journal.write("experiment", name=spec.name, spec=spec.model_dump(mode="json"), dry_run=self.options.dry_run, run_id=self.run_id,
                           owner=Owner.me().as_dict(), report_dir=str(self.options.report_dir.resolve()))
        try:
            await self._connect()
            await self._provision()
            await self._observe_start()
            plan = self._plan()
            if self.options.dry_run or spec.guardrails.dry_run:
                self.journal.write("dry_run", message="planned only; nothing injected", plan=plan)
            else:
                await self._experiment()
        except asyncio.CancelledError:
            self.abort(f"interrupted during {self.phase}")
        except ChaosError as exc:
            if isinstance(exc, GuardrailError | InjectionError):
                self.abort(str(exc))
            else:
                self.journal.write("error", where=self.phase, message=str(exc), fatal=True)
        except Exception as exc:  # noqa: BLE001 - a crash still rolls back and leaves a verdict
            log.exception("run_crashed")
            self.journal.write("error", where=self.phase, message=api_errors.describe(exc), fatal=True)
        finally:
            await self._rollback()
            self._journal_retries()
        self.verdict = verdict(spec, self.journal.snapshot())
        self.journal.write("verdict", **self.verdict.as_dict())
        self.journal.close()
        if not pending(self.journal.snapshot()):
            run_registry.unregister(self.run_id)
        return self.verdict

    async def _connect(self) -> None:
        self._phase(Phase.CONNECT, target=self.spec.target.kind)
        target = self.spec.target
        if target.kind == "eks":
            conn = await asyncio.to_thread(eks, target)
        elif target.simulator.state_dir:
            conn = await asyncio.to_thread(running_simulator, Path(target.simulator.state_dir))
        else:
            sim_dir = self.options.report_dir / "simulator"
            conn = await asyncio.to_thread(start_simulator, target, sim_dir, self.options.report_dir / "simulator.log")
        self.state.conn = conn
        self.clock.start(conn.speed, conn.cluster_epoch)
        self.journal.write("connected", target=target.kind, speed=conn.speed, region=conn.endpoints.region,
                           started_simulator=conn.started_simulator, simulator_pid=conn.process.pid if conn.process else conn.endpoints.pid,
                           kube_context=conn.endpoints.kube_context, endpoints=asdict(conn.endpoints),
                           state_dir=str(conn.state_dir.resolve()) if conn.state_dir else None)
        if not conn.started_simulator:  # a simulator the run started takes what the run made with it when it stops
            run_registry.register(run_registry.RunEntry(self.run_id, str(self.options.report_dir.resolve()), Owner.me(), self.cluster_key()))
            self._warn_of_stale_runs()
        self._phase(Phase.GUARDRAILS)
        facts = await asyncio.to_thread(check_guardrails, target, conn)
        self.journal.write("guardrails", **facts)
        self.state.faults = AwsFaults(conn.aws, conn.endpoints.region)
        if conn.endpoints.extra.get("control_url"):
            self.state.metadata = MetadataMock(conn.endpoints.extra["control_url"])
        self.state.undoer = Undoer(self.run_id, self.state.faults, self.state.metadata, conn.endpoints)
        status, reason = await asyncio.to_thread(self.state.faults.safety_lever)
        self.journal.write("safety_lever", status=status, reason=reason)
        if status in ("engaged", "engaging"):
            raise SafetyLeverEngaged(f"the account's FIS safety lever is {status} ({reason}): no experiment may start; "
                                     "`spotchaos safety-lever release` disengages it")
        if status == "unknown":
            log.warning("safety_lever_unreadable", reason=reason)

    def _warn_of_stale_runs(self) -> None:
        """Runs of this cluster whose owner died with their faults in place: named, with the command
        that undoes them (the run goes on; what they left may skew its measurements)."""
        key = self.cluster_key()
        for entry in run_registry.stale():
            if entry.cluster_key != key or entry.run_id == self.run_id:
                continue
            undo = (f"spotchaos cleanup {entry.report_dir}" if os.path.isfile(entry.journal())
                    else f"spotchaos cleanup --run-id {entry.run_id} (its directory is gone; add --target/--state-dir as for this run)")
            message = f"run {entry.run_id} (pid {entry.owner.pid}) on this cluster ended without undoing its faults; `{undo}` undoes them"
            self.journal.write("stale_run", run_id=entry.run_id, pid=entry.owner.pid, report_dir=entry.report_dir, message=message)
            log.warning("stale_run", run_id=entry.run_id, report_dir=entry.report_dir)
            if self.options.on_warning is not None:
                self.options.on_warning(message)

    def cluster_key(self) -> str:
        conn = self.state.conn
        assert conn is not None
        where = conn.endpoints.aws_endpoint_url or conn.endpoints.kube_context
        return run_registry.cluster_key(conn.endpoints.target, where, self.spec.cluster.name)

    async def _provision(self) -> None:
        conn = self.state.conn
        assert conn is not None
        cluster = self.spec.cluster
        from chaos import provisioning as p
        from chaos.provisioning import predict_path

        if cluster.profile is not None:
            if conn.endpoints.target == "eks":
                raise TargetError("provisioning EKS from an experiment is not available: set cluster.profile: null and name the service in cluster.service")
            self._phase(Phase.PROVISION, profile=cluster.profile)
            from cluster.profiles import ProfileError, load_profile

            try:
                profile = load_profile(cluster.profile, cluster.name, cluster.overrides)
            except ProfileError as exc:
                raise TargetError(f"cluster: {exc}") from None
            # found again by its run id when the journal is lost (`spotchaos cleanup --run-id`); the
            # profile tag marks a cluster that cleanup may tear down: not one the experiment keeps
            tags = {**profile.tags, RUN_ID_TAG: self.run_id, **({PROFILE_TAG: profile.profile} if cluster.teardown else {})}
            profile = profile.model_copy(update={"tags": tags})
            quiet = Console(file=io.StringIO())
            if cluster.teardown and not conn.started_simulator:
                number = self.undo.intent(f"provision {profile.name} ({profile.profile})", UndoOp.TEAR_DOWN_CLUSTER, Stage.SETUP,
                                          profile=cluster.profile, cluster=cluster.name, overrides=cluster.overrides)
            else:
                number = None
            # a thread cannot be cancelled: rollback waits for it before tearing down what it made
            self.state.provision_task = asyncio.ensure_future(asyncio.to_thread(
                p.provision, profile, conn.endpoints, PROVISION_TIMEOUT, quiet, labels=run_label(self.run_id), annotations={RUN_ID_ANNOTATION: self.run_id}))
            try:
                url = await asyncio.shield(self.state.provision_task)
            except p.ProvisioningFailed as exc:
                raise TargetError(f"provisioning {profile.profile}: {exc}") from None
            if number is not None:
                self.undo.done(number, cluster=profile.name)
            self.service = ServiceRef(profile.serving.namespace, profile.serving.name, profile.serving.service_name, predict_path(profile.serving))
            self.cluster_name = profile.name
            self.journal.write("provisioned", profile=profile.profile, cluster=profile.name, url=url)
        else:
            svc = cluster.service
            assert svc is not None
            self.service = ServiceRef(svc.namespace, svc.deployment, svc.ingress, svc.path)
            self.cluster_name = cluster.name
            url = None
        if self.spec.traffic.url:
            url = self.spec.traffic.url
        elif url is None:
            from chaos.provisioning import service_url

            url = await asyncio.to_thread(service_url, conn.kube(), self.service.namespace, self.service.ingress, self.service.path)
            if url is None:
                raise TargetError(f"the Ingress {self.service.namespace}/{self.service.ingress} has no address yet; give traffic.url or wait for the ALB")
        self.state.url = url

    async def _observe_start(self) -> None:
        conn = self.state.conn
        assert conn is not None
        self._phase(Phase.OBSERVE)
        stop = self.state.stop_threads
        self.state.watches = kube_watches(conn.kube(), self.journal, stop, self.service.namespace, self.service.deployment)
        cluster = self.cluster_name if conn.endpoints.target == "eks" else None
        # real seconds between polls: a few cluster seconds' resolution, without loading the API
        period = max(0.5, 2.0 / conn.speed)
        self.state.fis = FisExperiments(conn.aws("fis"), self.journal, self.clock.run_time_of)
        instances = Instances(conn.aws("ec2"), self.journal, cluster)
        instances.watched = lambda: [r["instance"] for r in self.state.injected]
        self.state.pollers = [
            Poller("targets", period, TargetHealth(conn.aws("elbv2"), self.journal, cluster), stop),
            Poller("instances", period, instances, stop),
            Poller("activities", max(3.0, period * 4), ScalingActivities(conn.aws("autoscaling"), self.journal, cluster), stop),
            Poller("fis", period * 2, self.state.fis, stop),
        ]
        assert self.state.faults is not None
        self.state.lever = SafetyLeverWatch(self.state.faults.safety_lever, self.journal)
        self.state.pollers.append(Poller("safety-lever", period * 2, self.state.lever, stop))
        for t in [*self.state.watches, *self.state.pollers]:
            t.start()
        try:
            await until(lambda: all(t.synced.is_set() for t in [*self.state.watches, *self.state.pollers]), SYNC_TIMEOUT, "observers to sync", interval=0.05)
        except WaitTimeout:
            missing = [t.name for t in [*self.state.watches, *self.state.pollers] if not t.synced.is_set()]
            raise TargetError(f"observers could not read the cluster within {SYNC_TIMEOUT:g}s: {', '.join(missing)}") from None

    def _nodes(self) -> list[Candidate]:
        records = self.journal.snapshot()
        serving = serving_pods_per_node((r for r in records if r["kind"] == "pod"), self.service.namespace, self.service.deployment)
        return candidates((r for r in records if r["kind"] == "node"), serving)

    def _plan(self) -> list[dict[str, Any]]:
        self._phase(Phase.PLAN)
        nodes = self._nodes()
        taken: set[str] = set()
        plan = []
        total_nodes = len(nodes)
        worst_case = 0
        for i, inj in enumerate(self.spec.injections):
            injector = injector_for(inj)
            chosen = injector.choose(inj, nodes, taken, f"{self.spec.name}/{i}/0", f"injections[{i}]")
            taken |= {c.instance for c in chosen}
            worst_case += len(chosen) * inj.waves
            plan.append(injector.plan(inj, i, chosen))
        share = worst_case / total_nodes if total_nodes else 1.0
        self.journal.write("plan", injections=plan, nodes=total_nodes, interrupted_at_most=worst_case, share=round(share, 4), url=self.state.url)
        limit = self.spec.guardrails.max_interrupted_share
        if share > limit:
            raise GuardrailError(f"the experiment would interrupt {worst_case} of {total_nodes} nodes ({share:.0%}), over guardrails.max_interrupted_share "
                                 f"{limit:.0%}: select fewer nodes or raise the limit")
        return plan

    # ------------------------------------------------------------------ the experiment proper
    async def _experiment(self) -> None:
        spec, st = self.spec, self.state
        assert st.url is not None
        self._phase(Phase.STEADY_STATE)
        longest = spec.traffic.warmup + spec.duration + spec.traffic.tail
        st.traffic = TrafficRun(spec.traffic, st.url, self.journal, self.clock, longest)
        warm_start = self.clock.now()
        st.traffic_task = asyncio.create_task(st.traffic.run())
        await self._wait_cluster(spec.traffic.warmup, traffic_task=st.traffic_task)
        # the warm-up's traffic is judged once its seconds are recorded (a second settles late)
        warm_end = warm_start + spec.traffic.warmup
        try:
            await until(lambda: st.traffic_task is not None and (st.traffic_task.done() or self.traffic.last_end_t >= warm_end),
                        WARMUP_SETTLE_TIMEOUT, "warm-up traffic")
        except WaitTimeout:
            pass
        if st.traffic_task.done() and st.traffic_task.exception() is not None:
            raise TargetError(f"traffic to {st.url} failed: {st.traffic_task.exception()}")
        self._steady_state("before", warm_start)
        if self.abort_reason:
            return
        self._phase(Phase.INJECT)
        st.inject_start = self.clock.now()
        for i, inj in enumerate(spec.injections):
            st.inject_tasks.append(asyncio.create_task(self._waves(i, inj)))
        deadline = st.inject_start + spec.duration
        self._phase(Phase.OBSERVE_UNTIL_DECIDED)
        while self.clock.now() < deadline and not self.abort_reason:
            await self.clock.sleep_real(TICK)
            self._check_stop_conditions()
            for task in st.inject_tasks:
                if task.done() and task.exception() is not None:
                    exc = task.exception()
                    raise exc if isinstance(exc, ChaosError) else InjectionError(f"injection failed: {exc}")
            if self._decided():
                break
        if not self.abort_reason:
            self._phase(Phase.TAIL)
            await self._wait_cluster(spec.traffic.tail, traffic_task=st.traffic_task)
        self._phase(Phase.STOP_TRAFFIC)
        await self._stop_traffic()
        self._steady_state("after", st.inject_start)

    async def _wait_cluster(self, seconds: float, traffic_task: asyncio.Task[Any] | None) -> None:
        end = self.clock.now() + seconds
        while self.clock.now() < end and not self.abort_reason:
            await self.clock.sleep_real(min(TICK, self.clock.real_seconds(end - self.clock.now()) + 0.001))
            if traffic_task is not None and traffic_task.done() and traffic_task.exception() is not None:
                raise TargetError(f"traffic to {self.state.url} failed: {traffic_task.exception()}")
            self._check_stop_conditions()

    def _decided(self) -> bool:
        st = self.state
        if not st.inject_tasks or not all(t.done() for t in st.inject_tasks):
            return False
        now = self.clock.now()
        # node checks read only the node milestones, which the fold keeps: no rescan of the journal
        results = evaluate(self.spec, [], now, final=False, scopes=frozenset({Scope.NODE}), nodes=self.milestones.milestones())
        if not node_checks_decided(results):
            return False
        # let traffic see each reclaim (or its expected time) before ending
        for inj in st.injected:
            if inj.get("reclaim_t") is not None:
                reclaimed = self.milestones.reclaimed_since(inj["instance"], inj["t"])
                if not reclaimed and now < inj["reclaim_t"] + RECLAIM_GRACE:
                    return False
        return True

    def _steady_state(self, when: str, since: float) -> None:
        ready = self.milestones.latest_deployment()
        stats = self.traffic.since(since)
        limit = min([h.max for h in self.spec.hypotheses if h.check == "error-rate"] or [DEFAULT_ERROR_LIMIT])
        problems = steady_state_problems(when == "before", ready, stats.requests, stats.error_rate, limit)
        self.journal.write("steady_state", when=when, ok=not problems, problems=problems, requests=stats.requests, error_rate=round(stats.error_rate, 6),
                           ready=ready["ready"] if ready else None, desired=ready["desired"] if ready else None)
        if problems and when == "before":
            self.abort("steady state does not hold before injecting: " + "; ".join(problems))

    def _check_stop_conditions(self) -> None:
        st = self.state
        if st.lever is not None and st.lever.engaged and not self.abort_reason and st.lever.last is not None:
            self.abort(f"the FIS safety lever was {st.lever.last[0]} mid-run ({st.lever.last[1]}): FIS stops every experiment")
        if st.fis is not None:
            for eid, state in list(st.fis.last.items()):
                if state in ("stopped", "failed") and not self.abort_reason and self.phase != Phase.ROLLBACK:
                    reason = next((r.get("reason") for r in reversed(self.journal.snapshot()) if r["kind"] == "fis" and r["experiment"] == eid), "")
                    self.abort(f"FIS experiment {eid} {state}: {reason}")
        breach = stop_condition_breach(self.spec.stop_conditions, self.traffic.recent_rate)
        if breach:
            self.abort(breach)

    # ------------------------------------------------------------------ injections
    async def _waves(self, index: int, inj: Injection) -> None:
        st = self.state
        assert st.inject_start is not None
        for wave in range(inj.waves):
            when = st.inject_start + inj.at + wave * inj.every
            while self.clock.now() < when:
                if self.abort_reason:
                    return
                await self.clock.sleep_real(min(TICK, self.clock.real_seconds(when - self.clock.now()) + 0.001))
            if self.abort_reason:
                return
            await self._inject(index, inj, wave)

    async def _inject(self, index: int, inj: Injection, wave: int) -> None:
        st = self.state
        assert st.faults is not None and st.conn is not None
        ctx = FireContext(
            run_id=self.run_id, experiment=self.spec.name, journal=self.journal, undo=self.undo, clock=self.clock, faults=st.faults,
            metadata=st.metadata, region=st.conn.endpoints.region, cluster_name=self.cluster_name, tags=self._tags(), alarms=self._alarms(),
            nodes=self._nodes, taken={r["instance"] for r in st.injected}, fis_role=self._fis_role, start_fis=self._start_fis,
            queue_url=self._queue_url, schedule_reclaim=self._schedule_reclaim,
        )
        st.injected.extend(await injector_for(inj).fire(ctx, inj, index, wave))

    def _schedule_reclaim(self, instance: str, notice: float) -> None:
        """The reclaim a notice put on NTH's queue promises, which only the harness can send."""
        st = self.state
        st.reclaim_intents[instance] = self.undo.intent(f"reclaim {instance} {notice:g}s after its queued notice", UndoOp.CANCEL_RECLAIM,
                                                        Stage.FAULT, instance=instance)
        st.pending_reclaims[instance] = asyncio.create_task(self._reclaim_later(instance, notice))

    async def _reclaim_later(self, instance: str, notice: float) -> None:
        """After a notice put on the queue, the reclaim EC2 would do: the instance is terminated."""
        await self.clock.sleep(notice)
        assert self.state.faults is not None
        await asyncio.to_thread(self.state.faults.terminate, instance)
        self.journal.write("reclaim_sent", instance=instance)
        self.state.pending_reclaims.pop(instance, None)
        number = self.state.reclaim_intents.pop(instance, None)
        if number is not None:
            self.undo.undone(number, True, "reclaimed as planned: nothing to undo", by="run")

    def _tags(self) -> dict[str, str]:
        return {"spotchaos:experiment": self.spec.name, RUN_ID_TAG: self.run_id}

    async def _start_fis(self, template: dict[str, Any], what: str) -> str:
        """Create the template and start the experiment, each announced in the undo log first."""
        st = self.state
        assert st.faults is not None and st.fis is not None
        faults = st.faults
        number = self.undo.intent(f"create FIS template for {what}", UndoOp.DELETE_FIS_TEMPLATE, Stage.FAULT)
        template_id = await asyncio.to_thread(faults.create_template, template, f"{self.run_id}-{number}"[-64:])
        self.undo.done(number, template_id=template_id)
        number = self.undo.intent(f"start FIS experiment from {template_id}", UndoOp.STOP_FIS_EXPERIMENT, Stage.FAULT, template_id=template_id)
        eid = await asyncio.to_thread(faults.start_experiment, template_id, template.get("tags", {}), f"{self.run_id}-{number}"[-64:])
        self.undo.done(number, experiment_id=eid)
        st.fis.add(eid)
        return eid

    def _alarms(self) -> list[str]:
        return [c.cloudwatch_alarm for c in self.spec.stop_conditions if c.cloudwatch_alarm]

    async def _fis_role(self) -> str:
        st = self.state
        if st.role_arn is None and self.spec.target.fis_role_arn:
            st.role_arn = self.spec.target.fis_role_arn
        if st.role_arn is None:
            assert st.faults is not None
            name = f"spotchaos-fis-{self.run_id[-6:]}"  # the run id's random part: a role of this run's own
            number = self.undo.intent(f"create IAM role {name} for FIS", UndoOp.DELETE_IAM_ROLE, Stage.FAULT, role_name=name)
            arn, _ = await asyncio.to_thread(st.faults.ensure_fis_role, name, {RUN_ID_TAG: self.run_id})
            self.undo.done(number, role_arn=arn)
            st.role_arn = arn
        return st.role_arn

    async def _queue_url(self) -> str:
        st = self.state
        if st.queue_url is None:
            from chaos.provisioning import nth_queue_url

            assert st.conn is not None
            st.queue_url = await asyncio.to_thread(nth_queue_url, st.conn.kube())
            if st.queue_url is None:
                raise InjectionError("via sqs: no NTH Deployment with QUEUE_URL (queue mode) in the cluster; use a profile with nth.mode: queue")
        return st.queue_url

    # ------------------------------------------------------------------ the end
    async def _stop_traffic(self) -> None:
        st = self.state
        if st.traffic is not None and st.traffic_task is not None:
            st.traffic.stop.set()
            try:
                summary = await asyncio.wait_for(st.traffic_task, timeout=st.traffic.spec.timeout + 5)
                self.journal.write("traffic_summary", **{k: v for k, v in summary.items() if k != "per_second"})
            except Exception as exc:  # noqa: BLE001
                self.journal.write("error", where="traffic", message=f"{type(exc).__name__}: {exc}", fatal=False)
            st.traffic_task = None

    async def _rollback(self) -> None:
        """Undo what the undo log says the run did, faults first (newest first), then stop traffic and
        observers, then the setup (the cluster it provisioned), then the simulator it started.  A
        failing step is journaled and the others still run; `spotchaos cleanup` retries what is left."""
        self._phase(Phase.ROLLBACK)
        st = self.state

        async def step(name: str, action: Callable[[], Any]) -> None:
            try:
                result = action()
                if asyncio.iscoroutine(result):
                    result = await result
                self.journal.write("rollback", step=name, ok=True, detail=str(result or "done"))
            except Exception as exc:  # noqa: BLE001 - record and go on with the rest
                self.journal.write("rollback", step=name, ok=False, detail=f"{type(exc).__name__}: {exc}")

        for task in st.inject_tasks:
            task.cancel()
        for task in list(st.pending_reclaims.values()):
            task.cancel()
        await self._undo(Stage.FAULT)
        await step("stop traffic", self._stop_traffic)
        st.stop_threads.set()
        if st.provision_task is not None and not st.provision_task.done():
            # provisioning runs in a thread that cannot be cancelled: let it finish, then tear down all it made
            await asyncio.wait({st.provision_task}, timeout=PROVISION_TIMEOUT)
        await self._undo(Stage.SETUP)
        conn = st.conn
        if conn is not None and conn.started_simulator:
            await step("stop the simulator", lambda: asyncio.to_thread(conn.stop))

    async def _undo(self, stage: Stage) -> None:
        for intent in pending(self.journal.snapshot(), stage):
            name = undo_step_name(intent)
            if intent.undo == UndoOp.CANCEL_RECLAIM:
                self.state.reclaim_intents.pop(str(intent.args.get("instance")), None)
                self.journal.write("rollback", step=name, ok=True, detail="cancelled")
                self.undo.undone(intent.id, True, "cancelled", by="rollback")
                continue
            try:
                assert self.state.undoer is not None
                detail = await self.state.undoer.undo(intent)
                ok = True
            except Exception as exc:  # noqa: BLE001 - record and go on with the rest
                detail, ok = f"{type(exc).__name__}: {exc}", False
            self.journal.write("rollback", step=name, ok=ok, detail=detail)
            self.undo.undone(intent.id, ok, detail, by="rollback")


async def run_experiment(spec: Experiment, options: RunOptions) -> tuple[Verdict, Run]:
    run = Run(spec, options)
    return await run.execute(), run
