"""Simulator settings: clock speed, control-plane timings (in cluster seconds) and capacity pools.

Each timing copies the real component's default; the source is in the field's description.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cluster.clock_speed import parse_speed
from cluster.settings_files import first_problem, load_mapping

# `speed: auto` starts here: nothing real-time runs yet (no traffic), so the clock runs as fast as
# the simulation keeps up (it slows itself when it does not: cluster/sim/clock.py)
AUTO_START_SPEED = 100.0


class Timings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_boot: float = Field(60.0, ge=0, description="EC2 running -> kubelet registers the Node (EKS AMI boot, ~60 s).")
    node_ready: float = Field(10.0, ge=0, description="Node registered -> Ready (CNI up).")
    pod_start: float = Field(5.0, ge=0, description="Pod bound -> containers running (image cached).")
    node_monitor_grace: float = Field(40.0, ge=0, description="kube-controller-manager --node-monitor-grace-period: kubelet silent -> Ready=Unknown.")
    node_deletion: float = Field(5.0, ge=0, description="cloud node lifecycle controller: NotReady node whose instance is gone -> Node deleted.")
    pod_gc: float = Field(40.0, ge=0, description="PodGC quarantine: pods bound to a deleted Node are force-deleted after this.")
    aws_poll: float = Field(2.0, gt=0, description="How often the simulated ASG health check and EKS node agents look at EC2.")


class Serving(BaseModel):
    """The simulated TF Serving pods (data plane: real HTTP, real time). Per pod, the annotations
    sim.spotchaos.io/service-time-ms, /concurrency and /model-load-seconds override these."""

    model_config = ConfigDict(extra="forbid")

    service_time_ms: float = Field(20.0, ge=0, description="Real milliseconds one predict request takes once it has a worker.")
    concurrency: int = Field(4, ge=1, description="Requests a pod works on at once (TF Serving's session threads); the rest queue.")
    model_load_seconds: float = Field(10.0, ge=0, description="Cluster seconds from container start until the model is loaded and the REST port opens.")
    cpu_per_request_ms: float | None = Field(None, ge=0, description="CPU milliseconds one prediction burns (None: its service time; annotation cpu-per-request-ms).")
    idle_cpu_millicores: int = Field(10, ge=0, description="CPU a running pod uses with no requests.")


class Alb(BaseModel):
    """The simulated ALB data plane (real HTTP; ALB's own timeouts are real seconds)."""

    model_config = ConfigDict(extra="forbid")

    port: int = Field(80, ge=0, le=65535, description="Listener port on the ALB's loopback address; taken from a free port when it cannot be bound (not root).")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds the ALB waits for a target's TCP connection (then 504).")
    idle_timeout: float = Field(60.0, gt=0, description="ALB idle timeout: a target silent this long gets a 504.")


class Imds(BaseModel):
    """Each instance's metadata service, on its node's loopback address."""

    model_config = ConfigDict(extra="forbid")

    port: int = Field(1338, ge=1, le=65535, description="Port on every node address (amazon-ec2-metadata-mock's default, 1338; real EC2 serves 169.254.169.254:80).")


class PoolCapacity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_type: str
    availability_zone: str
    spare: int = Field(ge=0)


class SimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("speed", mode="before")
    @classmethod
    def _speed_range(cls, value: object) -> object:
        return parse_speed(value)

    @property
    def start_speed(self) -> float:
        """The clock's speed at start."""
        return AUTO_START_SPEED if self.speed == "auto" else float(self.speed)

    @property
    def speed_adjustable(self) -> bool:
        """Started with `speed: auto`: runs set the speed they need (the control API)."""
        return self.speed == "auto"

    speed: float | Literal["auto"] = Field(1.0, description="Cluster time runs this many times faster than real time (0.1-1000); auto: "
                                                            f"{AUTO_START_SPEED:g} at start, and a run may set it (PUT /v1/clock/speed on the control API).")
    region: str = "us-east-1"
    cluster_name: str | None = Field(None, description="EKS cluster whose ASGs become nodes; None: any ASG tagged kubernetes.io/cluster/<name>.")
    kubernetes_version: str = "1.31"
    timings: Timings = Field(default_factory=Timings)
    hpa_sync_period: float = Field(15.0, gt=0, description="kube-controller-manager --horizontal-pod-autoscaler-sync-period.")
    default_pool_spare: int = Field(200, ge=0, description="Spare instances in each (instance type, AZ) capacity pool.")
    pools: list[PoolCapacity] = Field(default_factory=list)
    serving: Serving = Field(default_factory=Serving)
    alb: Alb = Field(default_factory=Alb)
    imds: Imds = Field(default_factory=Imds)
    node_address_octet: int | None = Field(None, ge=16, le=199, description="Nodes get 127.<this + n/256>.<n%256>.0/24 (pods inside); None: the first range no other simulator on the machine holds (cluster/sim/address_lease.py).")
    node_address_span: int = Field(4, ge=1, le=32, description="Second octets of node addresses a simulator holds (256 nodes each).")
    lb_address_octet: int | None = Field(None, ge=200, le=254, description="Load balancers get addresses in 127.<this>.0.0/16; None: the first range no other simulator holds (127.200 when alone).")
    compaction_interval: float = Field(300.0, gt=0, description="kube-apiserver --etcd-compaction-interval (5m): every interval, history before the version seen at the previous one is compacted (watches from it: 410 Gone).")
    event_ttl: float = Field(3600.0, gt=0, description="kube-apiserver --event-ttl (1h): Events are deleted this long (cluster seconds) after their last write.")
    terminated_instance_ttl: float = Field(3600.0, gt=0, description="EC2 shows a terminated instance for about an hour (TerminateInstances): after this long (cluster seconds) DescribeInstances no longer returns it.")
    watch_history: int = Field(20_000, ge=100, description="Events kept for watches that resume from a resourceVersion (older: 410 Gone).")
    bookmark_interval: float = Field(10.0, gt=0, description="Real seconds between BOOKMARK events on idle watches.")
    freeze_gc_survivors: bool = Field(True, description="Freeze what survives each full garbage collection, so that the next one is short (cluster/sim/gc_pauses.py); false: CPython's default.")


class ConfigError(ValueError):
    """A simulator config file is invalid; the message names the field and the fix."""


def load_config(path: Path | None, **overrides: object) -> SimConfig:
    data: dict[str, object] = {}
    if path is not None:
        data.update(load_mapping(path, "simulator config", ConfigError))
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return SimConfig.model_validate(data)
    except ValidationError as exc:
        field, message, given = first_problem(exc)
        raise ConfigError(f"simulator config field '{field}': {message} (got {given!r})") from exc
