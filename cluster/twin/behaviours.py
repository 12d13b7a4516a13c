"""The twin's behaviours file: how the user's containers behave in the simulator (how long they
take to start and to answer, how many requests at once, what share fails, whether they honour
SIGTERM, whether exec probes pass), per workload or as defaults.  The build writes it onto the
workloads' pod templates as the simulator's annotations (`sim.spotchaos.io/KEY`, `KEY.CONTAINER`
for one container), which the stand-ins read; an annotation the user already wrote stays.  Pure.

    defaults: {service_time_ms: 20}
    workloads:
      - match: {namespace: shop, name: frontend}      # name: a Deployment, StatefulSet, DaemonSet, Job or CronJob
        start: 15s                                     # its boot, before its ports open
        concurrency: 16
      - match: {name: cart, container: redis}          # one container of it
        sigterm: ignore
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cluster.components.go_values import parse_duration
from cluster.pod_lifecycle import ANNOTATION_PREFIX
from cluster.twin.inputs import Sourced, TwinInputError, TwinSources, named
from cluster.user_yaml import YamlProblem, load_file

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


class Behaviour(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: float | None = Field(None, ge=0, le=3600, description="Cluster seconds from the container's start to its ports opening (30s, 2m or seconds).")
    service_time_ms: float | None = Field(None, ge=0, le=60_000, description="Real milliseconds each request takes.")
    concurrency: int | None = Field(None, ge=1, le=100_000, description="Requests worked on at once; the rest queue.")
    error_rate: float | None = Field(None, ge=0, le=1, description="Share of requests answered 500.")
    sigterm: Literal["honour", "ignore"] | None = Field(None, description="honour: finish what is in flight and exit; ignore: serve until SIGKILL.")
    exec_probe: Literal["pass", "fail"] | None = Field(None, description="Exec probes pass once the container is up, or never.")
    run: float | None = Field(None, ge=0, le=7 * 86400, description="How long the process runs before it exits 0 (default: 10s for a Job's, "
                                                                     "forever for a server's).")

    @field_validator("start", "run", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a duration: write e.g. 15s, 2m or a number of seconds") from None
        return value

    def annotations(self, container: str | None) -> dict[str, str]:
        suffix = f".{container}" if container else ""
        keys = {"start": "start-seconds", "service_time_ms": "service-time-ms", "concurrency": "concurrency", "error_rate": "error-rate",
                "sigterm": "sigterm", "exec_probe": "exec-probe", "run": "run-seconds"}
        return {f"{ANNOTATION_PREFIX}{keys[k]}{suffix}": f"{v:g}" if isinstance(v, float) else str(v)
                for k, v in self.model_dump(exclude_none=True).items()}


class Match(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str | None = Field(None, description="The workload's namespace (a glob; default: any).")
    name: str | None = Field(None, description="The workload's name (a glob; default: any).")
    kind: str | None = Field(None, description="Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob (default: any).")
    container: str | None = Field(None, description="Only this container of it (default: the whole pod).")

    def takes(self, obj: Mapping[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        return ((self.kind is None or obj.get("kind") == self.kind) and fnmatch.fnmatchcase(str(meta.get("name", "")), self.name or "*")
                and fnmatch.fnmatchcase(str(meta.get("namespace") or "default"), self.namespace or "*"))


class Rule(Behaviour):
    match: Match = Field(default_factory=Match)


class Behaviours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: Behaviour = Field(default_factory=Behaviour)
    workloads: list[Rule] = Field(default_factory=list)


def read_behaviours(path: Path) -> Behaviours:
    try:
        data = load_file(path)
    except YamlProblem as exc:
        raise TwinInputError(f"behaviours {named(path)}: {exc}") from None
    try:
        return Behaviours.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "the file"
        message = str(err["msg"]).removeprefix("Value error, ")
        hint = "; remove it (keys: defaults, workloads, and per workload match, start, run, service_time_ms, concurrency, error_rate, sigterm, exec_probe)" \
            if err["type"] == "extra_forbidden" else ""
        raise TwinInputError(f"behaviours {named(path)}: {where}: {message}{hint}") from None


def _template(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The workload's pod template (a CronJob's is inside its job template)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    return template if isinstance(template, dict) else None


def annotate(objects: Iterable[Sourced], behaviours: Behaviours) -> tuple[list[Sourced], dict[str, int]]:
    """The objects with each workload's pod template carrying its behaviour (defaults, then each
    matching rule in order; the user's own annotations stay), and how many workloads each rule took."""
    taken = {f"workloads[{i}]": 0 for i in range(len(behaviours.workloads))}
    out: list[Sourced] = []
    for item in objects:
        if item.kind not in WORKLOAD_KINDS or _template(item.obj) is None:
            out.append(item)
            continue
        wanted = behaviours.defaults.annotations(None)
        for i, rule in enumerate(behaviours.workloads):
            if rule.match.takes(item.obj):
                wanted |= Behaviour.model_validate(rule.model_dump(exclude={"match"})).annotations(rule.match.container)
                taken[f"workloads[{i}]"] += 1
        if not wanted:
            out.append(item)
            continue
        obj = copy.deepcopy(item.obj)
        template = _template(obj) or {}
        meta = template.setdefault("metadata", {})
        meta["annotations"] = wanted | (meta.get("annotations") or {})
        out.append(Sourced(obj, item.source))
    return out, taken



def with_behaviours(sources: TwinSources, path: Path | None) -> TwinSources:
    """The inputs with the behaviours file written onto their workloads; a rule that takes no
    workload is an error naming it (a typo in a name would otherwise pass unseen)."""
    if path is None:
        return sources
    objects, taken = annotate(sources.objects, read_behaviours(path))
    unused = [rule for rule, n in taken.items() if n == 0]
    if unused:
        raise TwinInputError(f"behaviours {named(path)}: {', '.join(unused)} match no workload of the manifests; check match.name and match.namespace")
    return TwinSources(objects=objects, cluster_configs=sources.cluster_configs)
