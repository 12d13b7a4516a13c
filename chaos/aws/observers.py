"""AWS as the timeline sees it, polled through the real APIs: ELBv2 target health, EC2 instance
states, Auto Scaling activities and the FIS experiments the run started.  A record is written
when something changes (a target that disappears is written as state `gone`).  Transient API
errors are logged and the next poll tries again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from chaos.journal import Journal
from chaos.journal.records import (
    AsgActivityRecord,
    FisActionRecord,
    FisRecord,
    InstanceRecord,
    SafetyLeverRecord,
    TargetRecord,
)
from cluster.components.fis import TERMINAL_STATES, SafetyLeverStatus
from cluster.retry_tally import TALLY

log = structlog.get_logger("observe.aws")


class Poller(threading.Thread):
    def __init__(self, name: str, period: float, poll: Callable[[], None], stop: threading.Event) -> None:
        super().__init__(name=f"poll-{name}", daemon=True)
        self.period = period
        self.poll = poll
        self.stop_event = stop
        self.polls = 0
        self.failures = 0
        self.synced = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.poll()
                self.polls += 1
                self.synced.set()
            except (BotoCoreError, ClientError) as exc:
                self.failures += 1
                TALLY.add(f"aws poll {self.name.removeprefix('poll-')}")
                log.info("poll_failed", poller=self.name, error=str(exc)[:200])
            except Exception as exc:  # noqa: BLE001 - an observer must outlive a surprise; the next poll tries again
                self.failures += 1
                log.warning("poll_crashed", poller=self.name, error=repr(exc)[:300])
            self.stop_event.wait(self.period)


class TargetHealth:
    """Every target of the cluster's target groups (all of them on the simulator; on EKS those
    the Load Balancer Controller tagged with the cluster's name)."""

    def __init__(self, elbv2: Any, journal: Journal, cluster: str | None) -> None:
        self.elbv2 = elbv2
        self.journal = journal
        self.cluster = cluster
        self.groups: list[tuple[str, str]] = []
        self.last: dict[tuple[str, str], str] = {}
        self._polls = 0

    def _discover(self) -> None:
        groups = self.elbv2.describe_target_groups().get("TargetGroups", [])
        if self.cluster is not None and groups:
            tags = self.elbv2.describe_tags(ResourceArns=[g["TargetGroupArn"] for g in groups[:20]]).get("TagDescriptions", [])
            mine = {d["ResourceArn"] for d in tags if any(t["Key"] == "elbv2.k8s.aws/cluster" and t["Value"] == self.cluster for t in d.get("Tags", []))}
            groups = [g for g in groups if g["TargetGroupArn"] in mine]
        self.groups = [(g["TargetGroupArn"], g["TargetGroupName"]) for g in groups]

    def __call__(self) -> None:
        if self._polls % 10 == 0 or not self.groups:
            self._discover()
        self._polls += 1
        seen: set[tuple[str, str]] = set()
        for arn, name in self.groups:
            try:
                health = self.elbv2.describe_target_health(TargetGroupArn=arn).get("TargetHealthDescriptions", [])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "TargetGroupNotFound":
                    continue
                raise
            for d in health:
                key = (name, d["Target"]["Id"])
                seen.add(key)
                state = d["TargetHealth"]["State"]
                if self.last.get(key) != state:
                    self.last[key] = state
                    record = TargetRecord(group=name, target=key[1], port=d["Target"].get("Port"), state=state,
                                            reason=d["TargetHealth"].get("Reason"))
                    self.journal.write(record)
        for key in [k for k in self.last if k not in seen and self.last[k] != "gone"]:
            self.last[key] = "gone"
            gone = TargetRecord(group=key[0], target=key[1], state="gone")
            self.journal.write(gone)


class Instances:
    """Every cluster instance on a slow full scan (new instances, replacements), and the instances
    the run interrupted on every poll (their reclaim is a milestone): DescribeInstances is one of
    the dearer calls, on the simulator as in a real account.  The full scan asks for the instances
    not yet terminated (EC2 shows terminated ones for about an hour: on a busy account, or a
    long-lived simulator, most of the answer), and one that left it since is then read by its id."""

    ALIVE = ["pending", "running", "shutting-down", "stopping", "stopped"]

    def __init__(self, ec2: Any, journal: Journal, cluster: str | None, full_scan_every: int = 4) -> None:
        self.ec2 = ec2
        self.journal = journal
        self.cluster = cluster
        self.full_scan_every = full_scan_every
        self.watched: Callable[[], list[str]] = lambda: []
        self.last: dict[str, str] = {}
        self._polls = 0

    def _scan(self, **kwargs: Any) -> set[str]:
        """Journal what changed among the instances the call finds; returns their ids."""
        found: set[str] = set()
        for page in self.ec2.get_paginator("describe_instances").paginate(**kwargs):
            for reservation in page.get("Reservations", []):
                for inst in reservation.get("Instances", []):
                    iid, state = inst["InstanceId"], inst["State"]["Name"]
                    found.add(iid)
                    if self.last.get(iid) == state:
                        continue
                    self.last[iid] = state
                    tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                    record = InstanceRecord(instance=iid, state=state, lifecycle=inst.get("InstanceLifecycle", "on-demand"),
                                              type=inst.get("InstanceType"), az=inst.get("Placement", {}).get("AvailabilityZone"),
                                              group=tags.get("aws:autoscaling:groupName"), reason=(inst.get("StateReason") or {}).get("Code"))
                    self.journal.write(record)
        return found

    def __call__(self) -> None:
        if self._polls % self.full_scan_every == 0:
            filters = [{"Name": "instance-state-name", "Values": self.ALIVE}]
            if self.cluster:
                filters.append({"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{self.cluster}"]})
            alive = self._scan(Filters=filters)
            left = [i for i, state in self.last.items() if state != "terminated" and i not in alive]
            if left:  # terminated since the last look (or already forgotten by EC2: nothing to journal then)
                self._scan(Filters=[{"Name": "instance-id", "Values": left}])
        else:
            watched = [i for i in self.watched() if self.last.get(i) != "terminated"]
            if watched:
                self._scan(InstanceIds=watched)
        self._polls += 1


class ScalingActivities:
    def __init__(self, autoscaling: Any, journal: Journal, cluster: str | None) -> None:
        self.autoscaling = autoscaling
        self.journal = journal
        self.cluster = cluster
        self.last: dict[str, str] = {}

    def __call__(self) -> None:
        groups = self.autoscaling.describe_auto_scaling_groups().get("AutoScalingGroups", [])
        if self.cluster:
            groups = [g for g in groups if any(t["Key"] == f"kubernetes.io/cluster/{self.cluster}" for t in g.get("Tags", []))]
        for g in groups:
            name = g["AutoScalingGroupName"]
            for a in self.autoscaling.describe_scaling_activities(AutoScalingGroupName=name, MaxRecords=50).get("Activities", []):  # newest first
                status = a.get("StatusCode", "")
                if self.last.get(a["ActivityId"]) == status:
                    continue
                self.last[a["ActivityId"]] = status
                record = AsgActivityRecord(group=name, activity=a["ActivityId"], status=status, description=a.get("Description", ""),
                                             cause=str(a.get("Cause", ""))[:300], desired=g.get("DesiredCapacity"))
                self.journal.write(record)


class FisExperiments:
    """The FIS experiments this run started (added by the injector), and when each action
    started (FIS's own startTime, turned into run time): a Spot notice goes out then."""

    def __init__(self, fis: Any, journal: Journal, run_time_of: Callable[[float], float]) -> None:
        self.fis = fis
        self.journal = journal
        self.run_time_of = run_time_of
        self.ids: list[str] = []
        self.last: dict[str, str] = {}
        self.started: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    def add(self, experiment_id: str) -> None:
        with self.lock:
            self.ids.append(experiment_id)

    def running(self) -> list[str]:
        with self.lock:
            return [i for i in self.ids if self.last.get(i) not in TERMINAL_STATES]

    def __call__(self) -> None:
        with self.lock:
            ids = list(self.ids)
        for eid in ids:
            exp = self.fis.get_experiment(id=eid)["experiment"]
            state = exp["state"]["status"]
            for name, action in (exp.get("actions") or {}).items():
                start = action.get("startTime")
                if start is not None and (eid, name) not in self.started:
                    self.started.add((eid, name))
                    started = FisActionRecord(experiment=eid, action=name, action_id=action.get("actionId"),
                                                started_t=round(self.run_time_of(start.timestamp()), 3), state=(action.get("state") or {}).get("status"))
                    self.journal.write(started)
            if self.last.get(eid) != state:
                self.last[eid] = state
                record = FisRecord(experiment=eid, state=state, reason=exp["state"].get("reason"))
                self.journal.write(record)


class SafetyLeverWatch:
    """The account's FIS safety lever (one per account and Region): a record when its state
    changes; the run aborts once it is anything but disengaged."""

    def __init__(self, read: Callable[[], tuple[str, str]], journal: Journal) -> None:
        self.read = read  # (status, reason); status `unknown` when the lever cannot be read
        self.journal = journal
        self.last: tuple[str, str] | None = None

    def __call__(self) -> None:
        now = self.read()
        if now != self.last:
            self.last = now
            lever = SafetyLeverRecord(status=now[0], reason=now[1])
            self.journal.write(lever)

    @property
    def engaged(self) -> bool:
        return self.last is not None and self.last[0] in (SafetyLeverStatus.ENGAGING, SafetyLeverStatus.ENGAGED)
