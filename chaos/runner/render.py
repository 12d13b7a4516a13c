"""`spotchaos render --runner`: the experiments read and checked for a run in the cluster, and
the runner's files written — Dockerfile, runner.yaml (the Kubernetes objects, schema-checked),
iam-policy.json and, given the cluster's OIDC issuer, trust-policy.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaos import __version__
from chaos.aws.upload_destination import parse_s3_url
from chaos.errors import ChaosError, SpecError
from chaos.kube.clients import IN_CLUSTER
from chaos.runner.cron_schedule import schedule_problem
from chaos.runner.manifests import (
    DOCKERFILE,
    NAME,
    RunnerSpec,
    build_and_push,
    ecr_image,
    runner_objects,
)
from chaos.runner.policy import runner_policy
from chaos.spec import Experiment, load_experiment, parse_experiment
from cluster.aws.iam_roles import irsa_trust


class RunnerInputError(ChaosError):
    """An option or an experiment the runner cannot run; the message names it and the fix."""


@dataclass(frozen=True)
class RunnerOptions:
    image: str
    account: str
    region: str
    cluster: str
    experiments: tuple[Path, ...]
    schedule: str = "0 3 * * *"
    namespace: str = "spotchaos"
    upload: str | None = None
    oidc_issuer: str | None = None
    kubernetes_version: str = "1.31"
    create_role: bool = False  # create (or update) the runner's IAM role with boto3 as the environment configures it


def checked_experiment(path: Path, account: str) -> tuple[Experiment, str]:
    """The experiment as the runner runs it (target eks, in the cluster), and its text."""
    try:
        spec = load_experiment(path)
        data = spec.model_dump(mode="json", exclude_unset=True)
        data.setdefault("target", {})["kind"] = "eks"
        spec = parse_experiment(data, f"{path} (as the runner runs it, target eks)")
    except SpecError as exc:
        raise RunnerInputError(str(exc)) from None
    if IN_CLUSTER not in spec.target.allowed_contexts:
        raise RunnerInputError(f"{path}: target.allowed_contexts must name {IN_CLUSTER!r}, the context of a run in the cluster (its service account)")
    if account not in spec.target.allowed_accounts:
        raise RunnerInputError(f"{path}: target.allowed_accounts does not name --account {account}: the runner's account must be allowed")
    if spec.cluster.profile is not None:
        raise RunnerInputError(f"{path}: the runner runs against the cluster it lives in; set cluster.profile: null and name the service in cluster.service")
    return spec, path.read_text()


def option_problems(options: RunnerOptions) -> list[str]:
    """Every option of the runner that is missing or invalid, one phrase each (all of them at once:
    a user fixes a command line in one go, not one option per try)."""
    problems = []
    for value, option, why in ((options.region, "--region", "the AWS region of the cluster"),
                               (options.cluster, "--name", "the EKS cluster's name (the runner may terminate only its instances)")):
        if not value:
            problems.append(f"{option}: {why}")
    if not (options.account.isdigit() and len(options.account) == 12):
        problems.append(f"--account: a 12-digit AWS account id, not {options.account[:20]!r}")
    problem = schedule_problem(options.schedule)
    if problem:
        problems.append(f"--schedule {options.schedule[:60]!r}: {problem}")
    if not options.experiments:
        problems.append("--experiment: give at least one experiment file for the runner to run")
    if options.upload:
        try:
            parse_s3_url(options.upload)
        except ChaosError as exc:
            problems.append(str(exc))
    return problems


def render_runner(options: RunnerOptions, out_dir: Path) -> list[Path]:
    from chaos import provisioning as p

    problems = option_problems(options)
    if problems:
        raise RunnerInputError(f"--runner needs {len(problems)} more option{'s' if len(problems) > 1 else ''} set right: " + "; ".join(problems))
    experiments: dict[str, str] = {}
    roles: set[str] = set()
    for path in options.experiments:
        spec, text = checked_experiment(path, options.account)
        key = f"{spec.name}.yaml"
        if key in experiments:
            raise RunnerInputError(f"{path}: another experiment is also named {spec.name!r}; names must differ")
        experiments[key] = text
        if spec.target.fis_role_arn:
            roles.add(spec.target.fis_role_arn)
    upload = parse_s3_url(options.upload) if options.upload else None
    image = options.image or ecr_image(options.account, options.region, __version__)  # the user's own ECR, which build-and-push.sh fills
    spec = RunnerSpec(image, options.account, options.region, experiments, options.schedule, options.namespace, upload=options.upload)
    objects = runner_objects(spec)
    try:
        p.validate(objects, options.kubernetes_version)
    except p.ManifestError as exc:
        raise RunnerInputError(f"a runner manifest is not valid Kubernetes (check --schedule and --image): {exc}") from None
    policy = runner_policy(options.account, options.region, options.cluster, sorted(roles) or [f"arn:aws:iam::{options.account}:role/spotchaos-fis"], upload)
    files = {
        "Dockerfile": DOCKERFILE,
        "build-and-push.sh": build_and_push(image),
        "runner.yaml": yaml.safe_dump_all(objects, sort_keys=False),
        "iam-policy.json": json.dumps(policy, indent=2) + "\n",
    }
    issuer = options.oidc_issuer
    if options.create_role and not issuer:
        issuer = _issuer_of(options.cluster, options.region)
    if issuer:
        files["trust-policy.json"] = json.dumps(irsa_trust(options.account, issuer, options.namespace, NAME), indent=2) + "\n"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in files.items():
            (out_dir / name).write_text(text)
            if name.endswith(".sh"):
                (out_dir / name).chmod(0o755)
            written.append(out_dir / name)
    except OSError as exc:
        raise RunnerInputError(f"--out {out_dir}: cannot write there: {exc.strerror or exc}") from None
    if options.create_role:
        assert issuer is not None
        _create_role(options, irsa_trust(options.account, issuer, options.namespace, NAME), policy)
    return written


def _issuer_of(cluster: str, region: str) -> str:
    from chaos import api_errors
    from chaos.aws.runner_role import oidc_issuer

    try:
        return oidc_issuer(cluster, region)
    except api_errors.sdk_errors() as exc:
        raise RunnerInputError(f"--create-role: the OIDC issuer of EKS cluster {cluster} could not be read: {api_errors.describe(exc)}; "
                               "give --oidc-issuer") from None


def _create_role(options: RunnerOptions, trust: dict[str, Any], policy: dict[str, Any]) -> str:
    from chaos import api_errors
    from chaos.aws.runner_role import ensure_runner_role

    try:
        arn, _ = ensure_runner_role(NAME, trust, policy, {"spotchaos:cluster": options.cluster, "spotchaos:managed": "true"}, options.region)
        return arn
    except api_errors.sdk_errors() as exc:
        raise RunnerInputError(f"--create-role: {api_errors.describe(exc)}") from None
