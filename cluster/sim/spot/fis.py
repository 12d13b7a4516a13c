"""FIS execution.  moto stores templates and experiments; the simulator validates templates as
FIS does, resolves targets (ARNs, tags, filters, selection mode), runs the actions on the
cluster clock, advances experiment and action states, and honours StopExperiment and stop
conditions on CloudWatch alarms."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from moto.core.exceptions import JsonRESTError
from moto.fis import models as fis_models
from moto.fis.models import Experiment, FISBackend

from cluster.components.fis import TERMINAL_STATES
from cluster.sim.aws.autoscaling import AutoScalingSim, LaunchBlock
from cluster.sim.aws.moto_patches import MotoPatches
from cluster.sim.aws.moto_server import backend, instances_by_id
from cluster.sim.aws.spot_requests import stop_refusal
from cluster.sim.clock import ClockTimer, SimClock
from cluster.sim.spot import eventbridge, fis_catalogue
from cluster.sim.spot import fis_templates as ft
from cluster.sim.spot.fis_ids import EXPERIMENT_PREFIX, TEMPLATE_PREFIX, IdSource
from cluster.sim.spot.interruptions import Interruptions, Plan
from cluster.sim.spot.safety_lever import CANCELLED_REASON, STOPPED_REASON, LeverError, SafetyLever

log = structlog.get_logger("sim.fis")

INITIATING_SECONDS = 1.0
RUNNING_AFTER_SECONDS = 2.0
CHECK_SECONDS = 1.0

REASONS = {
    "pending": "Experiment is pending.",
    "initiating": "Experiment is initiating.",
    "running": "Experiment is running.",
    "completed": "Experiment completed.",
    "stopping": "Experiment is stopping.",
    "stopped": "Experiment stopped.",
    "failed": "Experiment failed.",
    "cancelled": "Experiment cancelled.",
}


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


class _NotFound(JsonRESTError):
    code = 404

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


class _LeverRefused(JsonRESTError):
    def __init__(self, exc: LeverError) -> None:
        super().__init__(exc.code, str(exc))
        self.code = {"ConflictException": 409, "ResourceNotFoundException": 404}.get(exc.code, 400)


@dataclass
class _Run:
    experiment: Experiment
    plans: list[Plan] = field(default_factory=list)
    blocks: list[LaunchBlock] = field(default_factory=list)
    timers: list[ClockTimer] = field(default_factory=list)
    started: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    targets: dict[str, list[str]] = field(default_factory=dict)  # target name -> resolved ARNs
    post: dict[str, Callable[[], None]] = field(default_factory=dict)  # action -> its post action (restart what it stopped)


def _set_state(exp: Experiment, status: str, reason: str | None = None) -> None:
    exp._status = status
    exp.sim_reason = reason or REASONS.get(status, status)  # type: ignore[attr-defined]


def _set_action(exp: Experiment, name: str, status: str, reason: str, at: float) -> None:
    action = exp.actions[name]
    action["state"] = {"status": status, "reason": reason}
    if status == "running":
        action["startTime"] = at
    if status in ("completed", "stopped", "failed", "cancelled", "skipped"):
        action.setdefault("startTime", at)
        action["endTime"] = at


class FisRunner:
    def __init__(self, clock: SimClock, region: str, moto_lock: Any, autoscaling: AutoScalingSim, interruptions: Interruptions) -> None:
        self.clock = clock
        self.region = region
        self.lock = moto_lock
        self.autoscaling = autoscaling
        self.interruptions = interruptions
        self.runs: dict[str, _Run] = {}
        self.lever = SafetyLever()
        self.resolved: dict[str, list[Any]] = {}  # experiment id -> moto ResolvedTargets
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rng = random.Random()

    # ---- installation into moto ----------------------------------------------------------
    def install(self, loop: asyncio.AbstractEventLoop, patches: MotoPatches) -> None:
        self._loop = loop
        runner = self
        create = FISBackend.create_experiment_template
        update = FISBackend.update_experiment_template
        start = FISBackend.start_experiment

        ids = IdSource(self._rng)
        patches.replace(fis_models, "mock_random", ids)
        id_lock = threading.Lock()  # moto's server answers from several threads: one prefix per call

        def checked_create(backend_: FISBackend, client_token: Any, description: str, stop_conditions: Any, targets: Any, actions: Any, role_arn: str, **kw: Any) -> Any:
            try:
                ft.validate_template(actions, targets, stop_conditions)
            except ft.TemplateError as exc:
                raise ValidationException(str(exc)) from None
            with id_lock:
                ids.prefix = TEMPLATE_PREFIX
                return create(backend_, client_token, description, stop_conditions, targets, actions, role_arn, **kw)

        def checked_update(backend_: FISBackend, id: str, **kw: Any) -> Any:  # noqa: A002 - moto's name
            template = backend_.experiment_templates.get(id)
            if template is not None:
                try:
                    ft.validate_template(kw.get("actions") or template.actions, kw.get("targets") or template.targets,
                                         kw.get("stop_conditions") if kw.get("stop_conditions") is not None else template.stop_conditions)
                except ft.TemplateError as exc:
                    raise ValidationException(str(exc)) from None
            return update(backend_, id, **kw)

        def start_and_run(backend_: FISBackend, *args: Any, **kw: Any) -> Any:
            with id_lock:
                ids.prefix = EXPERIMENT_PREFIX
                result = start(backend_, *args, **kw)
            exp = backend_.experiments[result["id"]]
            if exp.id not in runner.runs:
                now = runner.clock.timestamp()
                exp.creation_time = exp.start_time = now
                _set_state(exp, "pending")
                runner.runs[exp.id] = _Run(exp)
                if runner.lever.blocks_starts:  # created, then cancelled: FIS refuses no call, it cancels the experiment
                    for name in exp.actions:
                        _set_action(exp, name, "cancelled", "Action was cancelled.", now)
                    _set_state(exp, "cancelled", CANCELLED_REASON)
                    exp.end_time = now
                else:
                    loop.call_soon_threadsafe(runner._begin, exp.id)
            return exp.to_dict(tags=backend_.tagger.get_tag_dict_for_resource(exp.arn))

        def status_get(exp: Experiment) -> str:
            return exp._status or "pending"

        def status_set(exp: Experiment, value: str) -> None:
            exp._status = value
            if value == "stopping" and exp.id in runner.runs:
                loop.call_soon_threadsafe(runner._stop, exp.id, "Experiment stopped by user.")

        def sync_state(exp: Experiment) -> str:
            status = exp._status or "pending"
            if status in TERMINAL_STATES and exp.end_time is None:
                exp.end_time = runner.clock.timestamp()
            return status

        def with_reason(original: Any) -> Any:
            def to_dict(exp: Experiment, tags: Any = None) -> Any:
                d = original(exp, tags)
                reason = getattr(exp, "sim_reason", None)
                if reason:
                    d["state"]["reason"] = reason
                return d

            return to_dict

        self._install_lever(loop, patches)
        patches.replace(FISBackend, "create_experiment_template", checked_create)
        patches.replace(FISBackend, "update_experiment_template", checked_update)
        patches.replace(FISBackend, "start_experiment", start_and_run)
        patches.replace(Experiment, "status", property(status_get, status_set))
        patches.replace(Experiment, "_sync_state", sync_state)
        patches.replace(Experiment, "advance", lambda exp: None)
        patches.replace(Experiment, "to_dict", with_reason(Experiment.to_dict))
        patches.replace(Experiment, "to_summary_dict", with_reason(Experiment.to_summary_dict))
        patches.replace(Experiment, "resolved_targets", lambda exp: runner.resolved.get(exp.id, []))

    def _install_lever(self, loop: asyncio.AbstractEventLoop, patches: MotoPatches) -> None:
        """GetSafetyLever and UpdateSafetyLeverState, which moto lacks, on FIS's own paths."""
        import json

        from moto.fis import urls
        from moto.fis.responses import FISResponse

        runner = self
        patches.add_item(urls.url_paths, "{0}/safetyLevers/(?P<id>[^/]+)/state$", FISResponse.dispatch)
        patches.add_item(urls.url_paths, "{0}/safetyLevers/(?P<id>[^/]+)$", FISResponse.dispatch)

        def get_safety_lever(resp: FISResponse) -> str:
            try:
                SafetyLever.check_id(resp._get_param("id"))
            except LeverError as exc:
                raise _LeverRefused(exc) from None
            return json.dumps({"safetyLever": runner.lever.describe(resp.region, resp.current_account)})

        def update_safety_lever_state(resp: FISResponse) -> str:
            state = resp._get_param("state") or {}
            try:
                SafetyLever.check_id(resp._get_param("id"))
                status = runner.lever.request(str(state.get("status", "")), str(state.get("reason", "")), len(runner.live()))
            except LeverError as exc:
                raise _LeverRefused(exc) from None
            log.info("fis_safety_lever", status=str(status), reason=runner.lever.reason)
            if status == "engaging":
                loop.call_soon_threadsafe(runner._engage)
            return json.dumps({"safetyLever": runner.lever.describe(resp.region, resp.current_account)})

        patches.replace(FISResponse, "get_safety_lever", get_safety_lever)
        patches.replace(FISResponse, "update_safety_lever_state", update_safety_lever_state)
        self._install_catalogue(patches)

    @staticmethod
    def _install_catalogue(patches: MotoPatches) -> None:
        """ListActions, GetAction, ListTargetResourceTypes and GetTargetResourceType, which moto
        routes but does not answer (awscli retried a 500 four times)."""
        import json
        from urllib.parse import unquote

        from moto.fis.responses import FISResponse

        def found(make: Any) -> str:
            try:
                return json.dumps(make())
            except fis_catalogue.NotInCatalogue as exc:
                raise _NotFound(str(exc.args[0])) from None

        patches.replace(FISResponse, "list_actions", lambda resp: json.dumps({"actions": fis_catalogue.action_summaries(resp.region)}))
        patches.replace(FISResponse, "get_action", lambda resp: found(lambda: {"action": fis_catalogue.action(resp.region, unquote(resp.path.rsplit("/", 1)[-1]))}))
        patches.replace(FISResponse, "list_target_resource_types", lambda resp: json.dumps({"targetResourceTypes": fis_catalogue.resource_types()}))
        patches.replace(FISResponse, "get_target_resource_type",
                        lambda resp: found(lambda: {"targetResourceType": fis_catalogue.resource_type(unquote(resp.path.rsplit("/", 1)[-1]))}))

    def live(self) -> list[_Run]:
        return [r for r in self.runs.values() if r.experiment._status not in TERMINAL_STATES]

    def _engage(self) -> None:
        """The lever engaging: every running experiment stops, then the lever reads engaged."""
        with self.lock:
            for run in self.live():
                self._stop_locked(run, STOPPED_REASON)
            self.lever.settle(len(self.live()))

    # ---- the life cycle of one experiment ------------------------------------------------------
    def _begin(self, exp_id: str) -> None:
        run = self.runs[exp_id]
        run.timers.append(self.clock.call_later(INITIATING_SECONDS, self._initiate, exp_id))

    def _initiate(self, exp_id: str) -> None:
        run = self.runs[exp_id]
        exp = run.experiment
        if exp._status != "pending":
            return
        with self.lock:
            _set_state(exp, "initiating")
            try:
                targets = self._resolve(exp)
            except Exception as exc:  # a target that cannot be resolved fails the experiment
                self._finish(run, "failed", f"Target resolution failed: {exc}")
                return
        empty = [name for name, arns in targets.items() if not arns and exp.targets[name]["resourceType"] != ft.IAM_ROLE]
        if empty and (exp.experiment_options or {}).get("emptyTargetResolutionMode", "fail") == "fail":
            with self.lock:
                self._finish(run, "failed", f"Target resolution returned empty set for target {empty[0]}.")
            return
        run.targets = targets
        run.timers.append(self.clock.call_later(RUNNING_AFTER_SECONDS, self._running, exp_id))

    def _running(self, exp_id: str) -> None:
        run = self.runs[exp_id]
        exp = run.experiment
        if exp._status != "initiating":
            return
        with self.lock:
            _set_state(exp, "running")
        log.info("fis_experiment_running", experiment=exp_id)
        self._advance(run)
        run.timers.append(self.clock.call_later(CHECK_SECONDS, self._check, exp_id))

    def _advance(self, run: _Run) -> None:
        """Start every action whose startAfter actions have finished; complete the experiment at the end."""
        exp = run.experiment
        if exp._status != "running":
            return
        for name, action in exp.actions.items():
            if name in run.started:
                continue
            if all(a in run.finished for a in action.get("startAfter") or []):
                run.started.add(name)
                self._start_action(run, name)
        if len(run.finished) == len(exp.actions):
            with self.lock:
                self._finish(run, "completed")

    def _start_action(self, run: _Run, name: str) -> None:
        exp = run.experiment
        action = exp.actions[name]
        action_id = action["actionId"]
        params = action.get("parameters") or {}
        targets = run.targets
        spec = ft.CATALOG[action_id]
        arns = targets.get(action["targets"][spec.target_key], []) if spec.target_key else []
        now = self.clock.timestamp()
        with self.lock:
            _set_action(exp, name, "running", "Action is running.", now)
        log.info("fis_action_started", experiment=exp.id, action=name, action_id=action_id, targets=arns)
        try:
            length = self._execute(run, name, action_id, params, arns)
        except Exception as exc:
            with self.lock:
                _set_action(exp, name, "failed", f"Action failed: {exc}", self.clock.timestamp())
                self._finish(run, "failed", f"Action {name} failed: {exc}")
            return
        run.timers.append(self.clock.call_later(length, self._action_done, run.experiment.id, name))

    def _execute(self, run: _Run, name: str, action_id: str, params: dict[str, Any], arns: list[str]) -> float:
        """Carry out one action; returns how long (cluster seconds) it runs."""
        if action_id == ft.SEND_SPOT_INTERRUPTIONS:
            before = ft.parse_iso_duration(params["durationBeforeInterruption"])
            for arn in arns:
                run.plans.append(self.interruptions.interrupt(arn.rsplit("/", 1)[-1], before))
            return before
        if action_id in (ft.ASG_ICE, ft.API_ICE):
            length = ft.parse_iso_duration(params["duration"])
            groups = frozenset(a.split("autoScalingGroupName/", 1)[-1] for a in arns) if action_id == ft.ASG_ICE else frozenset()
            block = LaunchBlock(ft.az_names(params["availabilityZoneIdentifiers"], self.region), self.clock.after(length), groups,
                                percentage=float(params.get("percentage", 100)))
            self.autoscaling.blocks.append(block)
            run.blocks.append(block)
            return length
        ids = [a.rsplit("/", 1)[-1] for a in arns]
        if action_id == ft.TERMINATE_INSTANCES:
            self._change_states(ids, "shutting-down", "terminated", backend("ec2", self.region).terminate_instances)
            return 0.0
        if action_id == ft.STOP_INSTANCES:
            with self.lock:
                found = instances_by_id(self.region)
                refused = [f"UnsupportedOperation: {r}" for r in (stop_refusal(i, getattr(found.get(i), "lifecycle", None)) for i in ids) if r]
            if refused:
                raise ValueError(refused[0])
            self._change_states(ids, "stopping", "stopped", backend("ec2", self.region).stop_instances)
            after = params.get("startInstancesAfterDuration")
            if after is None:
                return 0.0
            complete = str(params.get("completeIfInstancesTerminated", "false")).lower() == "true"
            run.post[name] = lambda: self._restart(ids, complete)
            return ft.parse_iso_duration(after)
        if action_id == ft.WAIT:
            return ft.parse_iso_duration(params["duration"])
        raise ValueError(f"action {action_id} is not executed by the simulator")

    def _change_states(self, ids: list[str], going: str, gone: str, change: Callable[[list[str]], Any]) -> None:
        """Stop or terminate instances as EC2 does, with EventBridge's state-change notifications."""
        now = self.clock.timestamp()
        with self.lock:
            for iid in ids:
                self.interruptions.events.deliver(self.region, eventbridge.state_change(self.region, iid, going, now))
            change(ids)
            for iid in ids:
                self.interruptions.events.deliver(self.region, eventbridge.state_change(self.region, iid, gone, now))
        log.info("fis_instances_changed", instances=ids, state=gone)

    def _restart(self, ids: list[str], complete_if_terminated: bool) -> None:
        with self.lock:
            found = instances_by_id(self.region)
            start, failure = ft.restart_plan({i: getattr(found.get(i), "state", None) for i in ids}, complete_if_terminated)
            if start:
                backend("ec2", self.region).start_instances(start)
        log.info("fis_instances_restarted", instances=start)
        if failure:
            raise ValueError(failure)

    def _action_done(self, exp_id: str, name: str) -> None:
        run = self.runs[exp_id]
        if run.experiment._status != "running":
            return
        post = run.post.pop(name, None)
        if post is not None:
            try:
                post()
            except Exception as exc:
                with self.lock:
                    _set_action(run.experiment, name, "failed", f"Action failed: {exc}", self.clock.timestamp())
                    self._finish(run, "failed", f"Action {name} failed: {exc}")
                return
        with self.lock:
            _set_action(run.experiment, name, "completed", "Action was completed.", self.clock.timestamp())
        run.finished.add(name)
        self._advance(run)

    def _check(self, exp_id: str) -> None:
        """Stop conditions: a CloudWatch alarm in ALARM stops the experiment."""
        run = self.runs[exp_id]
        exp = run.experiment
        if exp._status != "running":
            return
        with self.lock:
            alarms = backend("cloudwatch", self.region).alarms
            for cond in exp.stop_conditions or []:
                if cond.get("source") != ft.ALARM_SOURCE:
                    continue
                name = str(cond.get("value", "")).split(":alarm:", 1)[-1]
                alarm = alarms.get(name)
                if alarm is not None and alarm.state_value == "ALARM":
                    log.info("fis_stop_condition", experiment=exp_id, alarm=name)
                    self._stop_locked(run, "Experiment stopped by a stop condition.")
                    return
        run.timers.append(self.clock.call_later(CHECK_SECONDS, self._check, exp_id))

    def _stop(self, exp_id: str, reason: str) -> None:
        run = self.runs.get(exp_id)
        if run is None:
            return
        with self.lock:
            self._stop_locked(run, reason)

    def _stop_locked(self, run: _Run, reason: str) -> None:
        exp = run.experiment
        if exp._status in TERMINAL_STATES:
            return
        now = self.clock.timestamp()
        for name in exp.actions:
            if name in run.finished:
                continue
            if name in run.started:
                _set_action(exp, name, "stopped", "Action was stopped.", now)
            else:
                _set_action(exp, name, "cancelled", "Action was cancelled.", now)
        self._finish(run, "stopped", reason)

    def _finish(self, run: _Run, status: str, reason: str | None = None) -> None:
        # a stopped experiment completes its actions' post actions first (FIS user guide, "Stop an experiment")
        for name, post in list(run.post.items()):
            run.post.pop(name, None)
            try:
                post()
            except Exception as exc:  # noqa: BLE001 - the experiment is ending either way; say what its post action could not do
                log.warning("fis_post_action_failed", experiment=run.experiment.id, action=name, error=str(exc))
        for t in run.timers:
            t.cancel()
        run.timers.clear()
        for plan in run.plans:
            # completed: durationBeforeInterruption has run, so the reclaim is due now whichever of
            # the two timers came up first; stopped or failed: the steps not yet run are dropped
            if status == "completed":
                plan.settle()
            else:
                plan.cancel()
        for block in run.blocks:
            if block in self.autoscaling.blocks:
                self.autoscaling.blocks.remove(block)
        exp = run.experiment
        _set_state(exp, status, reason)
        exp.end_time = self.clock.timestamp()
        log.info("fis_experiment_ended", experiment=exp.id, status=status, reason=reason)

    # ---- targets -------------------------------------------------------------------------------
    def _resolve(self, exp: Experiment) -> dict[str, list[str]]:
        from moto.fis.models import ResolvedTarget

        out: dict[str, list[str]] = {}
        for name, target in exp.targets.items():
            rtype = target["resourceType"]
            if target.get("resourceArns"):
                candidates = list(target["resourceArns"])
                if target.get("filters"):
                    described = self._describe(rtype)
                    candidates = [a for a in candidates if a in described and ft.matches_filters(described[a], target["filters"])]
            else:
                described = self._describe(rtype)
                tags = target.get("resourceTags") or {}
                candidates = [
                    arn for arn, d in described.items()
                    if all(d.get("_tags", {}).get(k) == v for k, v in tags.items()) and ft.matches_filters(d, target.get("filters") or [])
                ]
            out[name] = ft.select(candidates, target.get("selectionMode", "ALL"), self._rng.sample)
        self.resolved[exp.id] = [ResolvedTarget(exp.targets[n]["resourceType"], n, arn) for n, arns in out.items() for arn in arns]
        return out

    def _describe(self, rtype: str) -> dict[str, dict[str, Any]]:
        """Resources of a type by ARN, shaped as their Describe API shows them (for filters)."""
        from cluster.sim.aws.moto_server import ACCOUNT_ID

        if rtype in (ft.SPOT_INSTANCE, ft.INSTANCE):
            out = {}
            for inst in instances_by_id(self.region).values():
                if rtype == ft.SPOT_INSTANCE and getattr(inst, "lifecycle", None) != "spot":
                    continue
                arn = f"arn:aws:ec2:{self.region}:{ACCOUNT_ID}:instance/{inst.id}"
                out[arn] = {
                    "_tags": {t["key"]: t["value"] for t in inst.get_tags()} if hasattr(inst, "get_tags") else dict(getattr(inst, "tags", {}) or {}),
                    "InstanceId": inst.id,
                    "InstanceType": inst.instance_type,
                    "State": {"Name": inst.state},
                    "Placement": {"AvailabilityZone": inst.placement.zone if hasattr(inst.placement, "zone") else str(inst.placement)},
                    "SubnetId": inst.subnet_id,
                    "VpcId": getattr(inst, "vpc_id", None),
                    "InstanceLifecycle": getattr(inst, "lifecycle", None),
                }
            return out
        if rtype == ft.ASG:
            out = {}
            for group in backend("autoscaling", self.region).autoscaling_groups.values():
                out[group.arn] = {
                    "_tags": {t["Key"]: t.get("Value", "") for t in group.tags or []},
                    "AutoScalingGroupName": group.name,
                    "AvailabilityZones": list(group.availability_zones),
                }
            return out
        return {}
