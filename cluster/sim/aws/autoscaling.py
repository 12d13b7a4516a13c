"""Auto Scaling as AWS runs it, on top of moto's models.

moto launches every instance of a MixedInstancesPolicy group as the first override
type in the first AZ, on-demand, and never notices terminated instances.  Here each
launch picks a capacity pool (AZ balance, then the allocation strategy), honours the
on-demand/Spot split, fails with InsufficientInstanceCapacity when no pool has room,
and a reconcile pass replaces instances that left `running`, as the ASG's EC2 health
check does.  Scaling activities are recorded and served by DescribeScalingActivities.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import structlog
from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup, InstanceState
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.common_models import BaseModel  # noqa: F401 - moto import order
from moto.ec2 import utils as ec2_utils

from cluster.sim.aws.capacity_pools import CapacityPools, choose_pool, on_demand_target
from cluster.sim.aws.moto_patches import MotoPatches
from cluster.sim.aws.moto_server import backend, instances_by_id
from cluster.sim.aws.spot_requests import attach_request, close_request
from cluster.sim.clock import SimClock

log = structlog.get_logger("sim.autoscaling")

ASG_NAME_TAG = "aws:autoscaling:groupName"
LIVE_STATES = ("pending", "running")
# SetDesiredCapacity answers at once and the group launches in its own scaling activities ("a
# successful call indicates that Auto Scaling accepted the request"): a large difference is launched
# this many instances at a time, the rest in the next passes, so that no single request holds the
# AWS side (moto's one lock) for the launch of thousands of instances
LAUNCH_BATCH = 100


@dataclass
class LaunchBlock:
    """A fault that makes launches fail with InsufficientInstanceCapacity (FIS capacity actions)."""

    azs: frozenset[str]
    until: float  # cluster timestamp
    groups: frozenset[str] = frozenset()  # empty: every group
    percentage: float = 100.0  # share of launch attempts that fail


@dataclass
class AutoScalingSim:
    clock: SimClock
    region: str
    pools: CapacityPools = field(default_factory=CapacityPools)
    activities: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    blocks: list[LaunchBlock] = field(default_factory=list)
    launched_at: dict[str, float] = field(default_factory=dict)  # instance id -> cluster time
    reclaimed: set[str] = field(default_factory=set)  # spot instances AWS took back: capacity not returned
    _holding: dict[str, tuple[str, str]] = field(default_factory=dict)  # instance id -> pool it holds

    # ---- installation into moto -------------------------------------------------
    def install(self, patches: MotoPatches) -> None:
        sim = self

        def set_desired_capacity(group: FakeAutoScalingGroup, new_capacity: int | None) -> None:
            sim._set_desired_capacity(group, new_capacity)

        def replace_instances(group: FakeAutoScalingGroup, count_needed: int, propagated_tags: dict[str, str]) -> None:
            sim._launch(group, count_needed)

        def describe_scaling_activities(response: AutoScalingResponse) -> Any:
            from moto.core.responses import ActionResult

            name = response._get_param("AutoScalingGroupName")
            ids = response._get_param("ActivityIds", [])
            acts = [a for n, lst in sim.activities.items() if not name or n == name for a in lst]
            if ids:
                acts = [a for a in acts if a["ActivityId"] in ids]
            acts.sort(key=lambda a: a["StartTime"], reverse=True)
            # pages of MaxRecords (at most and by default 100) with a NextToken, as the API pages them
            size = min(100, int(response._get_param("MaxRecords", 100) or 100))
            token = str(response._get_param("NextToken") or "0")
            start = int(token) if token.isdigit() else 0
            page: dict[str, Any] = {"Activities": acts[start: start + size]}
            if start + size < len(acts):
                page["NextToken"] = str(start + size)
            return ActionResult(page)

        def notify_terminate_instances(backend_: Any, instance_ids: list[str]) -> None:
            """moto replaces at once; a real ASG notices on its next health check (reconcile)."""

        def delete_auto_scaling_group(backend_: Any, group_name: str) -> None:
            """Its activities go with it: a group made again under the same name (the next run's)
            does not show the last one's (DescribeScalingActivities without IncludeDeletedGroups)."""
            delete_group(backend_, group_name)
            sim.activities.pop(group_name, None)

        patches.replace(AutoScalingBackend, "notify_terminate_instances", notify_terminate_instances)
        delete_group = patches.replace(AutoScalingBackend, "delete_auto_scaling_group", delete_auto_scaling_group)
        patches.replace(FakeAutoScalingGroup, "set_desired_capacity", set_desired_capacity)
        patches.replace(FakeAutoScalingGroup, "replace_autoscaling_group_instances", replace_instances)
        patches.replace(AutoScalingResponse, "describe_scaling_activities", describe_scaling_activities)
        # Real EC2 filters on instance-lifecycle (spot | scheduled | capacity-block); moto raises.
        patches.add_item(ec2_utils.filter_dict_attribute_mapping, "instance-lifecycle", "lifecycle")

    # ---- activities ----------------------------------------------------------------
    def _activity(self, group: FakeAutoScalingGroup, description: str, cause: str, status: str = "Successful", message: str | None = None) -> None:
        now = self.clock.now()
        act: dict[str, Any] = {
            "ActivityId": str(uuid.uuid4()),
            "AutoScalingGroupName": group.name,
            "Description": description,
            "Cause": cause,
            "StartTime": now,
            "EndTime": now,
            "StatusCode": status,
            "Progress": 100,
            "Details": "{}",
        }
        if message:
            act["StatusMessage"] = message
        self.activities.setdefault(group.name, []).append(act)
        log.info("asg_activity", group=group.name, status=status, description=description)

    # ---- launching -------------------------------------------------------------------
    def policy(self, group: FakeAutoScalingGroup) -> tuple[list[str], str, int, int]:
        """The group's instance types, Spot allocation strategy, on-demand base and on-demand percentage above it."""
        policy = group.mixed_instances_policy or {}
        overrides = (policy.get("LaunchTemplate") or {}).get("Overrides") or []
        types = [o["InstanceType"] for o in overrides if o.get("InstanceType")]
        dist = policy.get("InstancesDistribution") or {}
        if not types:
            lt_spot = False
            if group.ec2_launch_template is not None:
                data = group.ec2_launch_template.get_version(group.launch_template_version).data
                lt_spot = (data.get("InstanceMarketOptions") or {}).get("MarketType") == "spot"
            return [group.instance_type], "prioritized", 0, 0 if lt_spot else 100
        strategy = dist.get("SpotAllocationStrategy", "lowest-price")
        base = int(dist.get("OnDemandBaseCapacity", 0) or 0)
        pct = int(dist.get("OnDemandPercentageAboveBaseCapacity", 100) if dist.get("OnDemandPercentageAboveBaseCapacity") is not None else 100)
        return types, strategy, base, pct

    def _blocked(self, group: FakeAutoScalingGroup) -> frozenset[str]:
        now = self.clock.timestamp()
        self.blocks = [b for b in self.blocks if b.until > now]
        azs: set[str] = set()
        for b in self.blocks:
            if (not b.groups or group.name in b.groups) and (b.percentage >= 100 or random.random() * 100 < b.percentage):
                azs |= b.azs
        return frozenset(azs)

    def fleet_blocked_azs(self) -> frozenset[str]:
        """AZs where a launch outside any group (CreateFleet, RunInstances) fails now: the capacity
        errors FIS puts on API calls (aws:ec2:api-insufficient-instance-capacity-error), not the
        ones it puts on named groups."""
        now = self.clock.timestamp()
        self.blocks = [b for b in self.blocks if b.until > now]
        azs: set[str] = set()
        for b in self.blocks:
            if not b.groups and (b.percentage >= 100 or random.random() * 100 < b.percentage):
                azs |= b.azs
        return frozenset(azs)

    def hold(self, instance_id: str, itype: str, az: str) -> None:
        """An instance launched outside any group takes its pool's capacity until it is gone."""
        self.pools.take(itype, az)
        self._holding[instance_id] = (itype, az)
        self.launched_at[instance_id] = self.clock.timestamp()

    def _subnet_for(self, group: FakeAutoScalingGroup, az: str) -> str | None:
        if not group.vpc_zone_identifier:
            return None
        ec2 = backend("ec2", self.region)
        for sid in group.vpc_zone_identifier.split(","):
            sid = sid.strip()
            try:
                if ec2.get_subnet(sid).availability_zone == az:
                    return sid
            except Exception:
                continue
        return None

    def _launch(self, group: FakeAutoScalingGroup, count: int) -> int:
        types, strategy, base, pct = self.policy(group)
        ec2 = backend("ec2", self.region)
        blocked_azs = self._blocked(group)
        launched = 0
        tags = group.get_propagated_tags()
        tags[ASG_NAME_TAG] = group.name
        tags.update(group.instance_tags)
        # the group as it stands, kept up to date launch by launch (one pass over it, not one per launch)
        live_now = [s for s in group.instance_states if s.instance.state in LIVE_STATES]
        live_count = len(live_now)
        on_demand_now = sum(1 for s in live_now if getattr(s.instance, "lifecycle", None) != "spot")
        by_az = Counter(s.instance.placement.zone for s in live_now)
        azs = list(group.availability_zones)
        excluded = frozenset((t, az) for t in types for az in blocked_azs)
        for _ in range(count):
            spot = on_demand_now >= on_demand_target(live_count + 1, base, pct)
            choice = choose_pool(types, azs, by_az, self.pools, strategy if spot else "prioritized", excluded)
            if choice is None:
                itype, az = types[0], (azs[0] if azs else "")
                others = ", ".join(a for a in azs if a != az)
                self._activity(
                    group,
                    f"Launching a new EC2 instance.  Status Reason: We currently do not have sufficient {itype} capacity in the Availability Zone you requested ({az}).",
                    f"At {self.clock.isoformat()} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {live_count} to {group.desired_capacity}.",
                    status="Failed",
                    message=(
                        f"We currently do not have sufficient {itype} capacity in the Availability Zone you requested ({az}). "
                        f"Our system will be working on provisioning additional capacity. You can currently get {itype} capacity "
                        f"by not specifying an Availability Zone in your request or choosing {others}. Launching EC2 instance failed."
                    ),
                )
                break
            itype, az = choice
            kwargs: dict[str, Any] = dict(
                instance_type=itype,
                tags={"instance": dict(tags)},
                placement=az,
                launch_config=group.launch_config,
                is_instance_type_default=False,
                subnet_id=self._subnet_for(group, az),
            )
            if group.ec2_launch_template is not None:
                kwargs["launch_template"] = {"LaunchTemplateId": group.ec2_launch_template.id}
            if spot:
                kwargs["instance_market_options"] = {"MarketType": "spot"}
            reservation = ec2.run_instances(group.image_id, 1, group.user_data, group.security_groups, **kwargs)
            for instance in reservation.instances:
                instance.autoscaling_group = group
                if spot:
                    instance.lifecycle = "spot"
                    attach_request(ec2, instance, az)
                group.instance_states.append(InstanceState(instance, protected_from_scale_in=group.new_instances_protected_from_scale_in))
                self.pools.take(itype, az)
                self._holding[instance.id] = (itype, az)
                self.launched_at[instance.id] = self.clock.timestamp()
                self._activity(
                    group,
                    f"Launching a new EC2 instance: {instance.id}",
                    f"At {self.clock.isoformat()} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {live_count} to {live_count + 1}.",
                )
                launched += 1
                live_count += 1
                on_demand_now += 0 if spot else 1
                by_az[az] += 1
        return launched

    def _set_desired_capacity(self, group: FakeAutoScalingGroup, new_capacity: int | None) -> None:
        group.desired_capacity = group.min_size if new_capacity is None else new_capacity
        live = [s for s in group.instance_states if s.instance.state in LIVE_STATES]
        delta = (group.desired_capacity or 0) - len(live)
        if delta > 0:
            self._launch(group, min(delta, LAUNCH_BATCH))  # the rest in the next reconcile passes
        elif delta < 0:
            self._scale_in(group, -delta)
        if group.name in group.autoscaling_backend.autoscaling_groups:
            group.autoscaling_backend.update_attached_elbs(group.name)
            group.autoscaling_backend.update_attached_target_groups(group.name)

    def _scale_in(self, group: FakeAutoScalingGroup, count: int) -> None:
        """Default termination policy: the AZ with the most instances first, then the oldest."""
        ec2 = backend("ec2", self.region)
        for _ in range(count):
            candidates = [s for s in group.instance_states if s.instance.state in LIVE_STATES and not s.protected_from_scale_in]
            if not candidates:
                return
            by_az = Counter(s.instance.placement.zone for s in candidates)
            victim = min(candidates, key=lambda s: (-by_az[s.instance.placement.zone], self.launched_at.get(s.instance.id, 0)))
            ec2.terminate_instances([victim.instance.id])
            group.instance_states.remove(victim)
            self._release(victim.instance.id, victim.instance)
            self._activity(
                group,
                f"Terminating EC2 instance: {victim.instance.id}",
                f"At {self.clock.isoformat()} a user request explicitly set group desired capacity changing the desired capacity, shrinking the capacity from {len(candidates)} to {len(candidates) - 1}.",
            )

    def _release(self, instance_id: str, instance: Any = None) -> None:
        """The instance is gone: its pool's capacity comes back (not after a reclaim) and its
        Spot request closes (an interruption closed it already)."""
        pool = self._holding.pop(instance_id, None)
        if pool is not None and instance_id not in self.reclaimed:
            self.pools.give_back(*pool)
        if pool is not None and instance is not None:
            close_request(backend("ec2", self.region), instance, "interrupted" if instance_id in self.reclaimed else "terminated")

    # ---- reconcile (the ASG's health checks) -----------------------------------------
    def reconcile(self) -> None:
        """Replace instances that left `running` (terminated, stopped, reclaimed), keeping desired capacity."""
        asb = backend("autoscaling", self.region)
        for group in list(asb.autoscaling_groups.values()):
            gone = [s for s in group.instance_states if s.instance.state not in LIVE_STATES]
            for state in gone:
                group.instance_states.remove(state)
                iid = state.instance.id
                if state.instance.state in ("stopping", "stopped"):
                    # an unhealthy instance is terminated, not only forgotten (EC2 Auto Scaling user guide,
                    # "Health checks": a stopped instance fails the EC2 status check and is replaced)
                    backend("ec2", self.region).terminate_instances([iid])
                self._release(iid, state.instance)
                cause = (
                    "an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped"
                    if iid not in self.reclaimed
                    else "an instance was taken out of service in response to an EC2 Spot interruption"
                )
                self._activity(group, f"Terminating EC2 instance: {iid}", f"At {self.clock.isoformat()} {cause}.")
            live = [s for s in group.instance_states if s.instance.state in LIVE_STATES]
            if len(live) < (group.desired_capacity or 0):
                self._launch(group, min((group.desired_capacity or 0) - len(live), LAUNCH_BATCH))
        # instances terminated outside any group still hold their pool until seen here
        instances = instances_by_id(self.region)
        for iid in list(self._holding):
            inst = instances.get(iid)
            if inst is None or inst.state not in LIVE_STATES:
                self._release(iid, inst)
