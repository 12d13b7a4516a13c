"""The experiment spec: what users write in YAML, validated so that every mistake is one line that
names the field and the fix, and published as JSON Schema for editors (docs/experiment.schema.json).

Control-plane durations (offsets, bounds, windows) are in cluster seconds: on the local simulator
they run `speed` times faster than real time, on EKS they are real seconds.  Request latency and
the request rate are real (the data plane is real HTTP)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from chaos import __version__
from chaos.checks import CHECK_TYPES, Check
from chaos.checks.load_shards_held import LoadShardsHeld
from chaos.errors import SpecError, shown
from chaos.fields import Duration, Scope, Share, Strict
from chaos.inject import DEFAULT_KIND, FAULT_TYPES, KINDS, Fault
from chaos.load.bodies import MAX_BODY_BYTES
from chaos.target import Target
from cluster.user_yaml import YamlProblem, load_file

# --------------------------------------------------------------------------- target and cluster

class Service(Strict):
    namespace: str = "default"
    deployment: str = "resnet-v1"
    ingress: str = Field("resnet-service", description="The Ingress whose status holds the ALB's address.")
    path: str = "/v1/models/resnet:predict"


def _beside(base: Path, path: str | None) -> str | None:
    return None if path is None else str(Path(path) if Path(path).is_absolute() else Path(base) / path)


class TwinFrom(Strict):
    """Your own cluster in the simulator: its node groups from your eksctl config, its workloads from
    your manifests (docs/twin.md).  Paths are relative to the experiment's file."""

    eksctl: str | None = Field(None, description="An eksctl ClusterConfig: its nodeGroups and managedNodeGroups become the twin's Auto Scaling groups.")
    manifests: list[str] = Field(default_factory=list, description="Manifest files or directories, as `kubectl apply -f` takes them (helm template output too).")
    kustomize: list[str] = Field(default_factory=list, description="Kustomize directories, built with `kubectl kustomize`.")
    behaviours: str | None = Field(None, description="How your containers behave in the simulator: start time, service time, errors, SIGTERM (docs/twin.md).")

    @model_validator(mode="after")
    def _readable(self, info: ValidationInfo) -> TwinFrom:
        base = (info.context or {}).get("base")
        if base is not None:  # relative to the experiment's file
            self.eksctl = _beside(base, self.eksctl)
            self.manifests = [_beside(base, m) or m for m in self.manifests]
            self.kustomize = [_beside(base, k) or k for k in self.kustomize]
            self.behaviours = _beside(base, self.behaviours)
        if self.eksctl is None and not self.manifests and not self.kustomize:
            raise ValueError("give eksctl, manifests or kustomize: the files the twin is built from")
        if self.behaviours is not None and not (self.manifests or self.kustomize):
            raise ValueError("behaviours says how the workloads of your manifests behave: give them in manifests or kustomize")
        if not (info.context or {}).get("recorded"):  # a journal's experiment ran already: its files need not be there any more
            self.sources()  # every file read now: a mistake is one line before anything starts
        return self

    def sources(self) -> Any:
        """The inputs read (cluster.twin's TwinSources), with the behaviours written onto the workloads."""
        from cluster.twin.behaviours import with_behaviours
        from cluster.twin.inputs import TwinInputError, read_inputs

        try:
            read = read_inputs(Path(self.eksctl) if self.eksctl else None, [Path(m) for m in self.manifests], [Path(k) for k in self.kustomize])
            return with_behaviours(read, Path(self.behaviours) if self.behaviours else None)
        except TwinInputError as exc:  # the command line's option names, as this file spells them
            message = str(exc).replace("--from-eksctl ", "eksctl ").replace("--manifests ", "manifests ").replace("--kustomize ", "kustomize ")
            raise ValueError(message) from None


class Cluster(Strict):
    profile: str | None = Field("hardened", description="Provision this profile (seed, hardened, managed or a profile YAML) before the run; null: use the cluster as it is.")
    name: str | None = Field(None, description="Cluster name (default TensorFlowServingCluster).")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Profile fields to change, merged into the profile (e.g. serving: {pdb_max_unavailable: null}).")
    teardown: bool = Field(True, description="Tear down what the run provisioned when it ends.")
    service: Service | None = Field(None, description="The service under test when the cluster is not provisioned by the run.")
    from_: TwinFrom | None = Field(None, alias="from", description="Build a twin of your own cluster from your files instead of a profile (local target).")

    @model_validator(mode="after")
    def _profile(self) -> Cluster:
        """The profile, its name and overrides, checked as provisioning will read them; or the twin's inputs."""
        if self.from_ is not None:
            if "profile" in self.model_fields_set and self.profile is not None:
                raise ValueError("profile and from: a twin is built from your files, not from a profile; drop profile")
            if self.service is None:
                raise ValueError("from: name the service under test in your manifests in cluster.service (namespace, deployment, ingress, path)")
            self.profile = None
            return self
        if self.profile is not None:
            from cluster.profiles import ProfileError, load_profile

            try:
                load_profile(self.profile, self.name, self.overrides)
            except ProfileError as exc:
                raise ValueError(str(exc)) from None
        return self


# --------------------------------------------------------------------------- traffic

LOCAL_SHARD_IMAGE = f"spotchaos:{__version__}"  # on the simulator: this installation runs the shards, nothing is pulled


class Traffic(Strict):
    url: str | None = Field(None, description="Where to send requests; default: the service's Ingress address (the ALB) and its predict path.")
    rate: float = Field(400.0, gt=0, le=100_000, description="Requests per second (real time), held open-loop.")
    ramp_to: float | None = Field(None, gt=0, description="Ramp linearly from `rate` to this over the experiment.")
    body: str = Field("image", description="image (a JPEG as base64, like the seed's client) | tensor | none | @FILE")
    timeout: Duration = Field(10.0, gt=0, description="Per-request timeout (real seconds).")
    warmup: Duration = Field(20.0, description="Traffic before the first injection; the steady state is checked over it.")
    tail: Duration = Field(30.0, description="Traffic after every node and capacity hypothesis is decided.")
    workers: int = Field(1, ge=1, le=16, description="Processes sending the load, each every N-th request of the one schedule; their numbers are merged "
                                                     "as one process's (for rates one process cannot hold).")
    placement: Literal["local", "cluster"] = Field("local", description="local: the load runs beside the harness; cluster: as a Kubernetes Indexed "
                                                                        "Job of `shards` pods of the harness image (docs/load.md).")
    shards: int = Field(1, ge=1, le=64, description="With placement cluster: pods sending the load, each every N-th request of the one schedule.")
    shard_image: str | None = Field(None, description="The harness image the shards run (entrypoint `spotchaos`): on eks, your build pushed to your "
                                                      "registry (`spotchaos render --runner` writes the Dockerfile and the ECR commands); "
                                                      "on the simulator, this installation runs them.")
    shard_nodes: dict[str, str] | None = Field(None, description="Node labels the shards must run on; default: on-demand nodes (a shard on an "
                                                                  "interrupted Spot node is lost, and its load with it).")
    shard_start: Duration | None = Field(None, gt=0, description="Real seconds from creating the shards' Job to their t=0 (the pods must be "
                                                                 "running by then); default 10s on the simulator, 90s on eks (image pulls).")

    @property
    def image(self) -> str:
        """The image the shards' Job names: the one given, else this installation's (the simulator runs it)."""
        return self.shard_image or LOCAL_SHARD_IMAGE

    @model_validator(mode="after")
    def _where_and_what(self) -> Traffic:
        if self.placement == "local" and self.shards > 1:
            raise ValueError("shards: only with placement: cluster (locally, use workers)")
        if self.placement == "cluster" and self.workers > 1:
            raise ValueError("workers: only with placement: local (on the cluster, use shards)")
        if self.placement == "cluster" and self.body.startswith("@"):
            raise ValueError(f"body: {shown(self.body)} is a file here, which the shards' pods do not have: use image, tensor or none")
        if self.url is not None:
            problem = url_problem(self.url)
            if problem:
                raise ValueError(f"url: {problem}")
        if self.body not in ("image", "tensor", "none"):
            path = Path(self.body[1:]) if self.body.startswith("@") else None
            if path is None:
                raise ValueError(f"body: use image, tensor, none or @FILE, not {shown(self.body)}")
            if not os.path.isfile(path):
                raise ValueError(f"body: {shown(self.body)} is not a regular file")
            if path.stat().st_size > MAX_BODY_BYTES:
                raise ValueError(f"body: {shown(self.body)} is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
        return self



def url_problem(url: str) -> str | None:
    """Why `url` is not an http(s) URL a request can go to, or None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"{shown(url)} is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{shown(url)} is not an http:// or https:// URL with a host"
    if port is not None and not 0 < port < 65536:
        return f"port {port} is out of range"
    return None


# --------------------------------------------------------------------------- injections

# every fault is a module of chaos/inject, listed in its registry; `kind` picks it (spot-interruption
# when an injection names none)
if TYPE_CHECKING:  # a union built from a tuple is no type to a type checker: every injection is a Fault
    Injection = Fault
else:
    Injection = Annotated[Union[FAULT_TYPES], Field(discriminator="kind")]  # noqa: UP007 - a Union built from the tuple


# --------------------------------------------------------------------------- hypotheses

# every check is a module of chaos/checks, listed in its registry
if TYPE_CHECKING:  # a union built from a tuple is no type to a type checker: every hypothesis is a Check
    Hypothesis = Check
else:
    Hypothesis = Annotated[Union[CHECK_TYPES], Field(discriminator="check")]  # noqa: UP007 - a Union built from the tuple
CHECK_SCOPES: dict[str, Scope] = {get_args(t.model_fields["check"].annotation)[0]: t.scope for t in CHECK_TYPES}
CHECKS = tuple(CHECK_SCOPES)
TRAFFIC_CHECKS = tuple(c for c, scope in CHECK_SCOPES.items() if scope == Scope.TRAFFIC)


# --------------------------------------------------------------------------- stop conditions, guardrails

class StopCondition(Strict):
    error_rate: Share | None = Field(None, description="Abort when the error rate over `window` passes this.")
    window: Duration = Field(10.0, gt=0)
    cloudwatch_alarm: str | None = Field(None, description="A CloudWatch alarm ARN; FIS stops its experiment when it goes into ALARM.")

    @model_validator(mode="after")
    def _one(self) -> StopCondition:
        if (self.error_rate is None) == (self.cloudwatch_alarm is None):
            raise ValueError("a stop condition is either error_rate (with window) or cloudwatch_alarm")
        if self.cloudwatch_alarm is not None and not self.cloudwatch_alarm.startswith("arn:aws:cloudwatch:"):
            raise ValueError("cloudwatch_alarm must be an alarm ARN (arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME)")
        return self


class Guardrails(Strict):
    max_interrupted_share: Share = Field(0.5, description="Refuse to interrupt more than this share of the cluster's nodes.")
    dry_run: bool = Field(False, description="Plan only: show what would be interrupted and stop.")


class Expectation(Strict):
    """What a known-bad experiment is for: the verdict it must reach and the hypotheses it must breach
    (the pytest plugin checks it; the run's own verdict and exit code are unchanged)."""

    verdict: Literal["passed", "failed", "aborted"] = "passed"
    breached: list[str] = Field(default_factory=list, description="Hypotheses that must fail.")


class Experiment(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    description: str = ""
    target: Target = Field(default_factory=Target)
    cluster: Cluster = Field(default_factory=Cluster)
    traffic: Traffic = Field(default_factory=Traffic)
    injections: list[Injection] = Field(min_length=1)
    hypotheses: list[Hypothesis] = Field(min_length=1)
    stop_conditions: list[StopCondition] = Field(default_factory=list)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    duration: Duration = Field(900.0, gt=0, description="The longest the experiment may run after the warm-up (cluster time); hypotheses still open then are undecided.")
    expect: Expectation = Field(default_factory=Expectation, description="The outcome this experiment is written to reach (known-bad configurations expect failed).")

    @field_validator("injections", mode="before")
    @classmethod
    def _default_kind(cls, given: Any) -> Any:
        """An injection that names no kind is a Spot interruption."""
        if isinstance(given, list):
            return [{"kind": DEFAULT_KIND, **i} if isinstance(i, dict) and "kind" not in i else i for i in given]
        return given

    @model_validator(mode="after")
    def _timing(self) -> Experiment:
        """The experiment's rules across its sections, each a method below raising ValueError with the fix."""
        self._injections_fit_the_duration()
        self._target_takes_the_injections()
        if self.cluster.profile is None and self.cluster.service is None:
            self.cluster.service = Service()
        self._checks_have_their_notice()
        if self.traffic.placement == "cluster" and not any(isinstance(h, LoadShardsHeld) for h in self.hypotheses):
            self.hypotheses.append(LoadShardsHeld(check="load-shards-held"))
        self._names_are_known_and_distinct()
        return self

    def _injections_fit_the_duration(self) -> None:
        for i, inj in enumerate(self.injections):
            if inj.last_offset >= self.duration:
                raise ValueError(f"injections[{i}] ends at {inj.last_offset:g}s (at + (waves-1) x every), past the experiment's duration {self.duration:g}s: "
                                 "move it earlier or make the duration longer")

    def _target_takes_the_injections(self) -> None:
        if self.cluster.from_ is not None and self.target.kind != "local":
            raise ValueError("cluster.from builds the twin in the local simulator: use target kind local "
                             "(on eks the cluster is your own: name its service in cluster.service)")
        if self.cluster.from_ is not None and self.target.simulator.state_dir is not None and self.cluster.teardown:
            raise ValueError("cluster.from with target.simulator.state_dir builds the twin in that running simulator once and keeps it there "
                             "for the next runs: set cluster.teardown: false (`spotchaos sim down` ends the simulator and the twin)")
        if self.target.kind != "eks":
            return
        if self.target.fis_role_arn is None and any(i.via == "fis" for i in self.injections):
            raise ValueError("target.fis_role_arn is needed for FIS injections on eks: the IAM role FIS runs as (`spotchaos provision --target eks` creates one)")
        if any(i.via == "metadata" for i in self.injections):
            raise ValueError("via metadata puts notices on the local simulator's instance metadata; on eks use via fis or via sqs")
        if self.traffic.placement == "cluster" and not self.traffic.shard_image:
            raise ValueError("traffic.shard_image: load on an eks cluster runs in your build of the harness image; name it (e.g. "
                             "ACCOUNT.dkr.ecr.REGION.amazonaws.com/spotchaos:TAG). `spotchaos render --runner --out DIR` writes the "
                             "Dockerfile and build-and-push.sh, the commands that build it and push it to ECR")

    def _checks_have_their_notice(self) -> None:
        if any(i.warns for i in self.injections):
            return
        blind = [h.name or h.check for h in self.hypotheses if h.needs_notice]
        if blind:
            raise ValueError(f"{', '.join(blind)} measure the response to a notice, and {' and '.join(sorted({i.kind for i in self.injections}))} "
                             "sends none: use targets-unhealthy-within, error-window or replicas-restored-within")

    def _names_are_known_and_distinct(self) -> None:
        names = [h.name or h.check for h in self.hypotheses]
        unknown = [b for b in self.expect.breached if b not in names]
        if unknown:
            raise ValueError(f"expect.breached names {', '.join(unknown)}, which is not a hypothesis here: use one of {', '.join(names)}")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"hypotheses named twice: {', '.join(dupes)}; give each a distinct name")


def hypothesis_name(h: Check) -> str:
    return h.name or h.check


# --------------------------------------------------------------------------- loading

_HINTS = {
    "missing": "add it",
    "extra_forbidden": "remove it or check its spelling (docs/experiment.md lists every key)",
}
_TAGS = {"check": CHECKS, "kind": KINDS}  # the unions' discriminators and their tags
_BRANCHES = frozenset(CHECKS) | frozenset(KINDS)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _BRANCHES:
            continue  # the discriminator's branch, not a key the user wrote
        else:
            key = str(part)
            out += ("." if out else "") + (key if _PLAIN_KEY.fullmatch(key) else shown(key))
    return out or "experiment"


def _fault_option_hint(kind: str, key: str) -> str:
    """What to do with an option the injection's kind does not take: the kinds that do, and its own."""
    owners = [k for k, f in zip(KINDS, FAULT_TYPES, strict=True) if key in f.model_fields]
    takes = f"{kind} takes {', '.join(FAULT_TYPES[KINDS.index(kind)].model_fields)}"
    return f"{key} is an option of {' and '.join(owners)}; {takes}" if owners else f"remove it: {takes}"


def explain(exc: ValidationError, source: str) -> str:
    err = exc.errors()[0]
    field = _field(tuple(err["loc"]))
    message = " ".join(str(err["msg"]).removeprefix("Value error, ").split())
    discriminator = str(err.get("ctx", {}).get("discriminator", "")).strip("'")
    tags = ", ".join(_TAGS.get(discriminator, ()))
    hint = _HINTS.get(err["type"])
    if err["type"] == "union_tag_invalid":
        message, hint = f"unknown {discriminator} {shown(err.get('ctx', {}).get('tag'))}", f"use one of: {tags}"
    elif err["type"] == "union_tag_not_found":
        hint = f"add {discriminator}: one of {tags}"
    elif err["type"] == "extra_forbidden" and (kind := next((p for p in err["loc"] if p in KINDS), None)):
        hint = _fault_option_hint(kind, str(err["loc"][-1]))
    given = err.get("input")
    echoed = "" if err["type"] in ("missing", "union_tag_not_found", "union_tag_invalid") or isinstance(given, dict | list) else f" (got {shown(given)})"
    return f"{source}: {field}: {message}{echoed}" + (f"; {hint}" if hint else "")


def parse_experiment(data: Any, source: str = "experiment", base: Path | None = None, *, recorded: bool = False) -> Experiment:
    """The experiment, its mistakes one line each; `base` is the directory relative paths in it start
    from (its file's); `recorded`: as a journal recorded it (the twin's files are not read again)."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: an experiment is a mapping with name, injections and hypotheses")
    try:
        return Experiment.model_validate(data, context={"base": base, "recorded": recorded})
    except ValidationError as exc:
        raise SpecError(explain(exc, source)) from None


def load_experiment(path: Path) -> Experiment:
    try:
        data = load_file(path)
    except YamlProblem as exc:
        raise SpecError(f"{path}: {exc}") from None
    return parse_experiment(data, str(path), path.parent)


def with_target(spec: Experiment, source: str, kind: str | None = None, speed: float | str | None = None) -> Experiment:
    """The experiment with its target's kind and speed set where given (--target and --speed)."""
    if kind is None and speed is None:
        return spec
    data = spec.model_dump(mode="json", exclude_unset=True)
    data.setdefault("target", {})
    if kind is not None:
        data["target"]["kind"] = kind
    if speed is not None:
        data["target"]["speed"] = speed
    return parse_experiment(data, source)


def only_injection(spec: Experiment, which: int | str, source: str) -> Experiment:
    """The experiment with one of its injections kept: `which` is its index in `injections`, its
    name, or injection-N (its place, from 1): a run of one fault, journaled under its label."""
    labels = [inj.label(i) for i, inj in enumerate(spec.injections)]
    if isinstance(which, int) and not isinstance(which, bool):
        if not 0 <= which < len(labels):
            raise SpecError(f"{source}: injection {which}: the experiment has injections[0] to injections[{len(labels) - 1}]; "
                            f"give an index in that range or one of {', '.join(labels)}")
        index = which
    elif isinstance(which, str) and which in labels:
        index = labels.index(which)
    elif isinstance(which, str) and which in (positions := [f"injection-{i + 1}" for i in range(len(labels))]):
        index = positions.index(which)  # its place, also when it has a name
    else:
        raise SpecError(f"{source}: injection {which!r}: no injection of that name; give one of {', '.join(labels)}")
    data = spec.model_dump(mode="json", exclude_unset=True)
    data["injections"] = [{**data["injections"][index], "name": labels[index]}]
    if len(labels) > 1:
        data.pop("expect", None)  # what the whole experiment is written to reach says nothing of one of its faults alone
    return parse_experiment(data, f"{source} (injection {labels[index]} alone)")


def json_schema() -> dict[str, Any]:
    schema = Experiment.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://spotchaos.dev/experiment.schema.json"
    schema["title"] = "spotchaos experiment"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
