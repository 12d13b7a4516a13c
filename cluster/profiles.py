"""The serving cluster as typed profiles: node groups, the TF Serving service and the add-ons.
`seed` is the reference walkthrough's cluster (modernised only where its APIs no longer exist);
`hardened` is the same cluster configured to ride out Spot interruptions.  Profiles render to
AWS calls (`cluster.provision`) and Kubernetes objects (`cluster.manifests.render`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from cluster.instance_types import INSTANCE_TYPES, lookup
from cluster.nodegroups import SEED_4VCPU, SEED_8VCPU
from cluster.settings_files import first_problem, load_mapping
from cluster.strict_numbers import NumbersNotBools

SEED_CLUSTER = "TensorFlowServingCluster"
# The walkthrough's text says two on-demand nodes, its eksctl command three: we follow the text.
SEED_ON_DEMAND_NODES = 2
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")  # EKS CreateCluster's name rule


# Kubernetes' documented limits for one cluster ("Considerations for large clusters"): no more than
# 5,000 nodes and 150,000 pods.  Node groups and replicas above them cannot exist on EKS either.
MAX_NODES = 5000
MAX_PODS = 150_000
MAX_GRACE_SECONDS = 86_400  # a day: no preStop or grace period of a Spot workload waits longer (the notice is 2 minutes)


class ProfileError(ValueError):
    """A profile that cannot be built; the message names the field and the fix."""


class NodeGroupProfile(NumbersNotBools):
    model_config = ConfigDict(extra="forbid")

    name: str
    instance_types: list[str] = Field(min_length=1)
    desired: int = Field(ge=0, le=MAX_NODES)
    min_size: int = Field(0, ge=0, le=MAX_NODES)
    max_size: int = Field(ge=0, le=MAX_NODES)
    spot: bool = True
    managed: bool = False  # an EKS managed node group: EKS itself drains its Spot nodes (capacity rebalancing)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("instance_types")
    @classmethod
    def _known_types(cls, types: list[str]) -> list[str]:
        for name in types:
            lookup(name)  # raises naming the type and the sizes its family comes in
        return types

    @model_validator(mode="after")
    def _sizes(self) -> NodeGroupProfile:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size {self.min_size} is above max_size {self.max_size}")
        if not self.min_size <= self.desired <= self.max_size:
            raise ValueError(f"desired {self.desired} must be between min_size {self.min_size} and max_size {self.max_size}")
        return self


class ServingProfile(NumbersNotBools):
    model_config = ConfigDict(extra="forbid")

    name: str = "resnet-v1"
    app_label: str = "resnet-service"
    service_name: str = "resnet-service"
    namespace: str = "default"
    model_name: str = "resnet"
    model_base_path: str = "s3://spotchaos-models/resnet/"
    replicas: int = Field(25, ge=1, le=MAX_PODS)
    cpu_request: str = "2"
    memory_request: str = "2Gi"
    cpu_limit: str = "4"
    memory_limit: str = "4Gi"
    node_selector: dict[str, str] = Field(default_factory=lambda: {"lifecycle": "Ec2Spot"})
    service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    readiness_probe: bool = False
    prestop_seconds: int | None = Field(None, ge=0, le=MAX_GRACE_SECONDS)
    grace_seconds: int | None = Field(None, ge=0, le=MAX_GRACE_SECONDS)
    pdb_max_unavailable: str | None = None
    hpa_min: int = Field(20, ge=1, le=MAX_PODS)
    hpa_max: int = Field(100, ge=1, le=MAX_PODS)
    hpa_cpu_percent: int = Field(50, ge=1, le=100)
    target_type: Literal["instance", "ip"] = "instance"
    deregistration_delay: int | None = Field(None, ge=0, le=3600)
    readiness_gate: bool = False
    topology_spread: bool = False
    s3_credentials: Literal["secret", "irsa"] = "secret"

    @model_validator(mode="after")
    def _hpa(self) -> ServingProfile:
        if self.hpa_min > self.hpa_max:
            raise ValueError(f"hpa_min {self.hpa_min} is above hpa_max {self.hpa_max}")
        return self


class NthProfile(NumbersNotBools):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["imds", "queue", "none"] = "imds"  # none: no NTH (the node groups or Karpenter handle the notice)
    settings: dict[str, str | int | bool] = Field(default_factory=dict)


class KarpenterProfile(NumbersNotBools):
    """Karpenter in place of Cluster Autoscaler and the Spot node groups: its controller's settings
    and the NodePool that holds the serving pods (Spot with on-demand fallback, many types)."""

    model_config = ConfigDict(extra="forbid")

    version: str = "1.8.1"
    interruption_queue: bool = True  # false: no queue, so no interruption handling ("disabled if not specified")
    capacity_types: list[Literal["spot", "on-demand"]] = Field(default_factory=lambda: ["spot", "on-demand"], min_length=1)
    instance_categories: list[str] = Field(default_factory=lambda: ["c", "m", "r"], min_length=1)
    instance_cpus: list[Annotated[int, Field(ge=1, le=448)]] = Field(default_factory=lambda: [4, 8], min_length=1)  # u-24tb1 has 448
    instance_types: list[str] | None = None  # an explicit list in place of categories and sizes
    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = "WhenEmptyOrUnderutilized"
    consolidate_after: str = Field("10m", pattern=r"^(([0-9]+(s|m|h))+|Never)$")
    budget_nodes: str = Field("10%", pattern=r"^((100|[0-9]{1,2})%|[0-9]+)$")
    termination_grace_period: str | None = Field("5m", pattern=r"^([0-9]+(s|m|h))+$")
    cpu_limit: int = Field(200, ge=1, le=MAX_NODES * 448)
    settings: dict[str, str] = Field(default_factory=dict, description="More env vars of the controller (BATCH_MAX_DURATION, FEATURE_GATES, ...)")

    @field_validator("instance_types")
    @classmethod
    def _known(cls, types: list[str] | None) -> list[str] | None:
        unknown = [t for t in types or [] if t not in INSTANCE_TYPES]
        if unknown:
            raise ValueError(f"Karpenter in the simulator plans over {len(INSTANCE_TYPES)} types; {', '.join(unknown)} is not one of them: "
                             f"{', '.join(sorted(INSTANCE_TYPES))}")
        return types


class ClusterProfile(NumbersNotBools):
    model_config = ConfigDict(extra="forbid")

    profile: str
    name: str = SEED_CLUSTER
    region: str = "us-east-1"
    kubernetes_version: str = "1.31"
    azs: list[str] = Field(default_factory=lambda: ["us-east-1a", "us-east-1b", "us-east-1c"])
    node_groups: list[NodeGroupProfile]
    serving: ServingProfile = Field(default_factory=ServingProfile)
    nth: NthProfile = Field(default_factory=NthProfile)
    cluster_autoscaler_flags: dict[str, str | bool] = Field(default_factory=dict)
    karpenter: KarpenterProfile | None = None  # set: Karpenter provisions the Spot capacity, no Cluster Autoscaler
    metrics_server: bool = True
    tags: dict[str, str] = Field(default_factory=dict, description="More tags on the node groups (cost allocation; a run adds its run id)")

    @field_validator("name")
    @classmethod
    def _eks_name(cls, name: str) -> str:
        if not _CLUSTER_NAME.match(name):
            raise ValueError(f"'{name}' is not a valid EKS cluster name: 1-100 letters, digits, '-' or '_', starting with a letter or digit")
        return name

    @property
    def spot_groups(self) -> list[NodeGroupProfile]:
        return [g for g in self.node_groups if g.spot]


def _seed_groups() -> list[NodeGroupProfile]:
    apps = {"lifecycle": "Ec2Spot", "intent": "apps"}
    return [
        NodeGroupProfile(name="ng-ondemand", instance_types=["t3.medium"], desired=SEED_ON_DEMAND_NODES, min_size=1, max_size=5, spot=False,
                         labels={"lifecycle": "OnDemand", "intent": "control-apps"}),
        NodeGroupProfile(name="prod-4vcpu-16gb-spot", instance_types=list(SEED_4VCPU), desired=10, min_size=0, max_size=15, labels=dict(apps)),
        NodeGroupProfile(name="prod-8vcpu-32gb-spot", instance_types=list(SEED_8VCPU), desired=10, min_size=0, max_size=15, labels=dict(apps)),
    ]


def seed(name: str = SEED_CLUSTER) -> ClusterProfile:
    """The walkthrough's cluster: no probe, no preStop, no PDB, ELB's 300 s deregistration delay,
    instance targets, static S3 keys, NTH's release defaults in IMDS mode."""
    return ClusterProfile(profile="seed", name=name, node_groups=_seed_groups())


def hardened(name: str = SEED_CLUSTER) -> ClusterProfile:
    """The same cluster made Spot-ready: probe on the model status, preStop + grace shorter than
    the notice, a PDB, a deregistration delay shorter than the notice, ip targets with
    readiness gates, NTH tainting and excluding the node from the ALB, spread over AZs, IRSA."""
    serving = ServingProfile(
        namespace="serving", service_type="NodePort", readiness_probe=True, prestop_seconds=25, grace_seconds=45, pdb_max_unavailable="20%",
        target_type="ip", deregistration_delay=20, readiness_gate=True, topology_spread=True, s3_credentials="irsa",
    )
    nth = NthProfile(mode="imds", settings={"TAINT_NODE": True, "EXCLUDE_FROM_LOAD_BALANCERS": True, "EMIT_KUBERNETES_EVENTS": True,
                                            "ENABLE_REBALANCE_MONITORING": True, "NODE_TERMINATION_GRACE_PERIOD": 120})
    return ClusterProfile(profile="hardened", name=name, node_groups=_seed_groups(), serving=serving, nth=nth,
                          cluster_autoscaler_flags={"expander": "priority,least-waste", "max-node-provision-time": "5m"})


def managed(name: str = SEED_CLUSTER) -> ClusterProfile:
    """The hardened cluster on EKS managed node groups: its Spot groups are managed (EKS launches
    a replacement on a rebalance recommendation and drains the node itself), so no NTH."""
    base = hardened(name)
    groups = [g.model_copy(update={"managed": True}) if g.spot else g for g in base.node_groups]
    return base.model_copy(update={"profile": "managed", "node_groups": groups, "nth": NthProfile(mode="none")})


def karpenter(name: str = SEED_CLUSTER) -> ClusterProfile:
    """The hardened cluster with Karpenter in place of the Spot node groups and Cluster
    Autoscaler: one NodePool across c/m/r types of 4 and 8 vCPUs, Spot first with on-demand
    fallback, its interruption queue fed by EventBridge, no NTH.  The on-demand group stays for
    the controllers (Karpenter must not run on capacity it manages)."""
    base = hardened(name)
    return base.model_copy(update={"profile": "karpenter", "node_groups": [g for g in base.node_groups if not g.spot],
                                   "nth": NthProfile(mode="none"), "cluster_autoscaler_flags": {}, "karpenter": KarpenterProfile()})


PROFILES = {"seed": seed, "hardened": hardened, "managed": managed, "karpenter": karpenter}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_profile(profile: str, name: str | None = None, overrides: dict[str, Any] | None = None) -> ClusterProfile:
    """A named profile, or a YAML file of overrides on one (`base: seed|hardened`, then any
    ClusterProfile field; `node_groups` replaces the list); `overrides` go on top.  ProfileError
    names the bad field."""
    try:
        if profile.endswith((".yaml", ".yml")):
            data = load_mapping(Path(profile), "profile (base, name, node_groups, serving, ...)", ProfileError)
            base = str(data.pop("base", "seed"))
            if base not in PROFILES:
                raise ProfileError(f"{profile}: unknown base profile '{base}': use one of {', '.join(PROFILES)}")
            merged = _merge(PROFILES[base](SEED_CLUSTER).model_dump(), data)
        elif profile in PROFILES:
            merged = PROFILES[profile](SEED_CLUSTER).model_dump()
        else:
            raise ProfileError(f"unknown profile '{profile}': use one of {', '.join(PROFILES)}, or a profile YAML file")
        if overrides:
            merged = _merge(merged, overrides)
        if name:
            merged["name"] = name
        return ClusterProfile.model_validate(merged)
    except ValidationError as exc:
        field, message, _ = first_problem(exc, "profile")
        raise ProfileError(f"profile field '{field}': {message}") from None
