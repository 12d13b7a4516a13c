"""One experiment, start to end: connect -> guardrails -> provision -> observe -> plan -> steady
state (traffic warms up) -> inject (waves) -> observe until every node and capacity hypothesis is
decided or the deadline passes -> stop traffic -> steady state again -> rollback -> verdict.

Rollback always runs (also on Ctrl-C, SIGTERM or a crash): see chaos/run/rollback.py.  The
verdict is a pure function of the journal (chaos/verdict/outcome.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from chaos import api_errors
from chaos import live_runs as run_registry
from chaos.clock import RunClock
from chaos.errors import ChaosError, GuardrailError, InjectionError, TargetError
from chaos.evidence.milestones import MilestoneFold
from chaos.evidence.starvation import health_of, starved_lately
from chaos.evidence.traffic_fold import TrafficFold
from chaos.identity import Owner, new_run_id
from chaos.inject import injector_for
from chaos.inject.selection import Candidate, candidates, serving_pods_per_node
from chaos.journal import Journal, of
from chaos.journal.records import (
    AbortRecord,
    ApiRetriesRecord,
    DryRunRecord,
    ErrorRecord,
    ExperimentRecord,
    FisRecord,
    PhaseRecord,
    PlanRecord,
    SteadyStateRecord,
    TrafficSummaryRecord,
    VerdictRecord,
)
from chaos.observe.cluster_traffic import ShardPlacement
from chaos.observe.health import HealthMonitor
from chaos.observe.traffic import DILATION_ROOM, TrafficRun
from chaos.run.connect import connect
from chaos.run.context import (
    RECLAIM_GRACE,
    SHARD_START_EKS_S,
    SHARD_START_LOCAL_S,
    TICK,
    WARMUP_SETTLE_TIMEOUT,
    Phase,
    Ready,
    RunContext,
    RunOptions,
    RunState,
    ServiceRef,
)
from chaos.run.gates import go_no_go
from chaos.run.injections import Injections
from chaos.run.pacing import apply_pace, provisioning_pace
from chaos.run.rollback import Rollback
from chaos.run.settled import SETTLE_TIMEOUT_S, describe, unsettled
from chaos.run.setup import provision, record_components, start_observers
from chaos.spec import Experiment, Scope
from chaos.undo.log import pending
from chaos.undo.writer import UndoWriter
from chaos.verdict.outcome import Verdict, evaluate, node_checks_decided, verdict
from chaos.verdict.steady_state import (
    DEFAULT_ERROR_LIMIT,
    steady_state_problems,
    stop_condition_breach,
)
from cluster.retry_tally import TALLY
from cluster.waiting import WaitTimeout, until

log = structlog.get_logger("run")


class Run:
    def __init__(self, spec: Experiment, options: RunOptions) -> None:
        clock = RunClock(started=False)
        journal = Journal(options.report_dir / "journal.jsonl", clock)
        self.ctx = RunContext(spec, options, options.run_id or new_run_id(spec.name), clock, journal, UndoWriter(journal))
        self.traffic = TrafficFold()  # kept as records arrive: the checks made each tick cost O(window)
        journal.listeners.append(self.traffic.add)
        self.milestones = MilestoneFold()  # likewise the interrupted nodes' milestones, for "decided" and the live view
        journal.listeners.append(self.milestones.add)
        self.state = RunState()
        self.injections = Injections(self.ctx, lambda: self.abort_reason is not None, self._nodes)
        self.phase = Phase.CREATED
        self.abort_reason: str | None = None
        self.verdict: Verdict | None = None
        self.health: HealthMonitor | None = None  # the run's own health, a record a second
        self._retry_base = TALLY.snapshot()  # the tally is the process's: a run counts from its start
        self._retries_written: dict[str, int] = {}

    # the caller's view: what the CLI, the live view and the pytest plugin read
    @property
    def spec(self) -> Experiment:
        return self.ctx.spec

    @property
    def run_id(self) -> str:
        return self.ctx.run_id

    @property
    def clock(self) -> RunClock:
        return self.ctx.clock

    @property
    def journal(self) -> Journal:
        return self.ctx.journal

    @property
    def service(self) -> ServiceRef:
        return self.state.service

    @property
    def rolling_back(self) -> bool:
        return self.phase == Phase.ROLLBACK

    def _leave_rest_to_cleanup(self) -> None:
        """The rollback was stopped (a second Ctrl-C or SIGTERM during it): every intent not undone
        yet is journaled as left, so the verdict names it and `spotchaos cleanup` replays it."""
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # the run goes on to its verdict; nothing here is cancelled any more
        self.abort("interrupted during the rollback")
        for intent in pending(self.journal.snapshot()):
            self.ctx.undo.undone(intent.id, False, "left to `spotchaos cleanup`: the rollback was interrupted", by="rollback")
        log.warning("rollback_left_to_cleanup", left=len(pending(self.journal.snapshot())))

    def abort(self, reason: str) -> None:
        if self.abort_reason is None:
            self.abort_reason = reason
            self.journal.write(AbortRecord(reason=reason))
            log.warning("abort", reason=reason)

    # ------------------------------------------------------------------ helpers
    def _journal_retries(self) -> None:
        """The API calls retried since the run began, per API, when that changed (cumulative)."""
        now = TALLY.snapshot()
        counts = {api: n - self._retry_base.get(api, 0) for api, n in now.items() if n > self._retry_base.get(api, 0)}
        if counts != self._retries_written:
            self._retries_written = counts
            self.journal.write(ApiRetriesRecord(counts=counts, total=sum(counts.values())))

    def _phase(self, phase: Phase, **fields: Any) -> None:
        self._journal_retries()
        self.phase = phase
        self.journal.write(PhaseRecord(phase=phase, **fields))
        log.info("phase", phase=phase, **fields)
        if self.ctx.options.on_phase is not None:
            self.ctx.options.on_phase(phase)

    # ------------------------------------------------------------------ life cycle
    async def execute(self) -> Verdict:
        spec, options = self.spec, self.ctx.options
        self.journal.write(ExperimentRecord(name=spec.name, spec=spec.model_dump(mode="json"), dry_run=options.dry_run, run_id=self.run_id, owner=Owner.me().as_dict(), report_dir=str(options.report_dir.resolve())))
        try:
            st = self.state
            connected = st.connected = await connect(self.ctx, st, self._phase)
            self.health = HealthMonitor.for_clock_file(self.journal, self.clock, connected.conn.endpoints.extra.get("clock_file"))
            self.health.start()
            await provisioning_pace(self.ctx, connected.conn)
            serving = st.serving = await provision(self.ctx, st, connected.conn, self._phase)
            st.components = await record_components(self.ctx, connected.conn)  # first: which components run decides what to watch
            st.pace = await apply_pace(self.ctx, connected.conn)  # the measured phase's speed: the observers poll by it
            st.observers = await start_observers(self.ctx, connected, serving, st.components, st.stop_threads, self._phase,
                                                 lambda: [r.instance for r in self.injections.injected if r.instance])
            kept = not connected.conn.started_simulator and connected.conn.endpoints.target == "local"  # a simulator kept for many runs
            if not kept or await self._settled():
                plan = self._plan(serving.url)
                if options.dry_run or spec.guardrails.dry_run:
                    self.journal.write(DryRunRecord(message="planned only; nothing injected", plan=plan))
                else:
                    await self._experiment()
        except asyncio.CancelledError:
            self.abort(f"interrupted during {self.phase}")
        except ChaosError as exc:
            if isinstance(exc, GuardrailError | InjectionError):
                self.abort(str(exc))
            else:
                self.journal.write(ErrorRecord(where=self.phase, message=str(exc), fatal=True))
        except api_errors.sdk_errors() as exc:  # an API past its retries: one line naming it, no traceback
            message = api_errors.describe(exc)
            log.error("run_api_failed", phase=str(self.phase), error=message)
            self.journal.write(ErrorRecord(where=self.phase, message=message, fatal=True))
        except Exception as exc:  # noqa: BLE001 - a crash still rolls back and leaves a verdict
            log.exception("run_crashed")
            self.journal.write(ErrorRecord(where=self.phase, message=api_errors.describe(exc), fatal=True))
        finally:
            self._phase(Phase.ROLLBACK)
            try:
                await Rollback(self.ctx, self.state, self.injections, self._stop_traffic).run()
            except asyncio.CancelledError:  # asked twice to stop while rolling back: leave the rest to cleanup
                self._leave_rest_to_cleanup()
            self.state.stop_threads.set()  # the watches and pollers end (a second Ctrl-C may have cut the rollback short of it)
            if self.health is not None:
                await self.health.stop()
            self._journal_retries()
        self.verdict = verdict(spec, self.journal.snapshot())
        self.journal.write(VerdictRecord(**self.verdict.as_dict()), last=True)  # the journal's last word, whatever a thread still observes
        if not pending(self.journal.snapshot()):
            run_registry.unregister(self.run_id)
        return self.verdict

    async def _settled(self) -> bool:
        """On a simulator kept running, wait (SETTLE_TIMEOUT_S cluster seconds at most) until what the
        runs before this one interrupted has recovered (chaos/run/settled.py); abort when it has not."""
        self._phase(Phase.SETTLE)
        service = self.service
        end = self.clock.now() + SETTLE_TIMEOUT_S
        while problems := unsettled(self.journal.snapshot(), service.namespace, service.deployment):
            if self.clock.now() >= end:
                self.abort(f"the cluster has not settled since the last run on this simulator within {SETTLE_TIMEOUT_S:g} cluster seconds: "
                           f"{describe(problems)}; look at it (kubectl get nodes), or run on a fresh simulator (drop target.simulator.state_dir)")
                return False
            await self.clock.sleep_real(TICK)
        return True

    def _nodes(self) -> list[Candidate]:
        records = self.journal.snapshot()
        serving = serving_pods_per_node(records, self.service.namespace, self.service.deployment)
        return candidates(records, serving)

    def _plan(self, url: str) -> list[dict[str, Any]]:
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
        self.journal.write(PlanRecord(injections=plan, nodes=total_nodes, interrupted_at_most=worst_case, share=round(share, 4), url=url))
        limit = self.spec.guardrails.max_interrupted_share
        if share > limit:
            raise GuardrailError(f"the experiment would interrupt {worst_case} of {total_nodes} nodes ({share:.0%}), over guardrails.max_interrupted_share "
                                 f"{limit:.0%}: select fewer nodes or raise the limit")
        return plan

    # ------------------------------------------------------------------ the experiment proper
    async def _experiment(self) -> None:
        spec, st, clock = self.spec, self.state, self.clock
        ready = st.ready()
        url = ready.serving.url
        self._phase(Phase.STEADY_STATE)
        longest = spec.traffic.warmup + spec.duration + spec.traffic.tail
        st.traffic = TrafficRun(spec.traffic, url, self.journal, clock, longest, self._shard_placement(ready), room=DILATION_ROOM,
                                bucket=st.pace.bucket if st.pace else 1.0)
        await st.traffic.ready()
        warm_start = clock.now()
        traffic_task = st.traffic_task = asyncio.create_task(st.traffic.run())
        await self._wait_cluster(spec.traffic.warmup)
        # the warm-up's traffic is judged once its seconds are recorded (a second settles late)
        warm_end = warm_start + spec.traffic.warmup
        try:
            await until(lambda: traffic_task.done() or self.traffic.last_end_t >= warm_end, WARMUP_SETTLE_TIMEOUT, "warm-up traffic")
        except WaitTimeout:
            pass
        if traffic_task.done() and traffic_task.exception() is not None:
            raise TargetError(f"traffic to {url} failed: {traffic_task.exception()}")
        self._steady_state("before", warm_start)
        if self.abort_reason:
            return
        if self.ctx.options.gate is not None:  # a game day: the go/no-go checks, then the driver's go
            answer = await go_no_go(self.ctx, ready)
            if not answer.go:
                self.abort(f"no go: the day was called off at the go/no-go by {answer.author}")
                return
        self._phase(Phase.INJECT)
        self.injections.begin(ready)
        assert self.injections.start is not None
        inject_start = self.injections.start
        deadline = inject_start + spec.duration
        self._phase(Phase.OBSERVE_UNTIL_DECIDED)
        while clock.now() < deadline and not self.abort_reason:
            await clock.sleep_real(TICK)
            self._check_stop_conditions()
            failure = self.injections.failure()
            if failure is not None:
                raise failure if isinstance(failure, ChaosError) else InjectionError(f"injection failed: {failure}")
            if self._decided():
                break
        if not self.abort_reason:
            self._phase(Phase.TAIL)
            await self._wait_cluster(spec.traffic.tail)
        self._phase(Phase.STOP_TRAFFIC)
        await self._stop_traffic()
        self._steady_state("after", inject_start)

    async def _wait_cluster(self, seconds: float) -> None:
        clock, st = self.clock, self.state
        end = clock.now() + seconds
        while clock.now() < end and not self.abort_reason:
            await clock.sleep_real(min(TICK, clock.real_seconds(end - clock.now()) + 0.001))
            task = st.traffic_task
            if task is not None and task.done() and task.exception() is not None:
                raise TargetError(f"traffic to {st.serving.url if st.serving else 'the service'} failed: {task.exception()}")
            self._check_stop_conditions()

    def _decided(self) -> bool:
        if not self.injections.all_fired():
            return False
        now = self.clock.now()
        # node checks read only the node milestones, which the fold keeps: no rescan of the journal
        results = evaluate(self.spec, [], now, final=False, scopes=frozenset({Scope.NODE}), nodes=self.milestones.milestones())
        if not node_checks_decided(results):
            return False
        # let traffic see each reclaim (or its expected time) before ending
        for inj in self.injections.injected:
            if inj.reclaim_t is not None and inj.instance:
                reclaimed = self.milestones.reclaimed_since(inj.instance, inj.t)
                if not reclaimed and now < inj.reclaim_t + RECLAIM_GRACE:
                    return False
        return True

    def _steady_state(self, when: str, since: float) -> None:
        ready = self.milestones.latest_deployment()
        stats = self.traffic.since(since)
        limit = min([h.max for h in self.spec.hypotheses if h.check == "error-rate"] or [DEFAULT_ERROR_LIMIT])
        problems = steady_state_problems(when == "before", ready, stats.requests, stats.error_rate, limit)
        self.journal.write(SteadyStateRecord(when=when, ok=not problems, problems=problems, requests=stats.requests, error_rate=round(stats.error_rate, 6), ready=ready.ready if ready else None, desired=ready.desired if ready else None))
        if problems and when == "before":
            self.abort("steady state does not hold before injecting: " + "; ".join(problems))

    def _check_stop_conditions(self) -> None:
        observers = self.state.observers
        lever = observers.lever if observers is not None else None
        if lever is not None and lever.engaged and not self.abort_reason and lever.last is not None:
            self.abort(f"the FIS safety lever was {lever.last[0]} mid-run ({lever.last[1]}): FIS stops every experiment")
        if observers is not None:
            for eid, state in list(observers.fis.last.items()):
                if state in ("stopped", "failed") and not self.abort_reason and self.phase != Phase.ROLLBACK:
                    reason = next((r.reason for r in reversed(of(self.journal.snapshot(), FisRecord)) if r.experiment == eid), "")
                    self.abort(f"FIS experiment {eid} {state}: {reason}")
        breach = stop_condition_breach(self.spec.stop_conditions, self.traffic.recent_rate)
        if breach and not self.abort_reason:
            window = max(s.window for s in self.spec.stop_conditions)
            starved = starved_lately(health_of(self.journal.snapshot()), self.clock.now() - window)
            self.abort(breach + (f"; meanwhile {starved}" if starved else ""))

    def _shard_placement(self, ready: Ready) -> ShardPlacement | None:
        """Where the load's shards go when it runs on the cluster (the service's namespace)."""
        traffic, conn = self.spec.traffic, ready.connected.conn
        if traffic.placement != "cluster":
            return None
        delay = traffic.shard_start or (SHARD_START_LOCAL_S if conn.endpoints.target == "local" else SHARD_START_EKS_S)
        return ShardPlacement(conn.kube(), ready.serving.service.namespace, self.ctx.run_id, self.ctx.undo, delay)

    # ------------------------------------------------------------------ the end
    async def _stop_traffic(self) -> None:
        st = self.state
        task = st.traffic_task
        if st.traffic is not None and task is not None:
            st.traffic.stop.set()
            # asyncio.wait, not wait_for: an interruption while waiting must not cancel the traffic
            # task too (its summary would be lost, and a cancelled task re-raises when awaited)
            await asyncio.wait({task}, timeout=st.traffic.spec.timeout + 5)
            st.traffic_task = None
            if not task.done():
                task.cancel()
                self.journal.write(ErrorRecord(where="traffic", message="the load did not stop in time; cancelled", fatal=False))
            elif task.cancelled():
                self.journal.write(ErrorRecord(where="traffic", message="the load was cancelled before its summary", fatal=False))
            elif task.exception() is not None:
                exc = task.exception()
                self.journal.write(ErrorRecord(where="traffic", message=f"{type(exc).__name__}: {exc}", fatal=False))
            else:
                summary = task.result()
                self.journal.write(TrafficSummaryRecord(**{k: v for k, v in summary.items() if k != "per_second"}))


async def run_experiment(spec: Experiment, options: RunOptions) -> tuple[Verdict, Run]:
    run = Run(spec, options)
    return await run.execute(), run
