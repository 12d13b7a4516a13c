"""`provision`, `teardown`, `render` and `doctor`: the serving cluster, its manifests and whether it is ready for Spot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chaos.cli.app import (
    ClusterName,
    KubeconfigFile,
    KubeContext,
    ProfileName,
    Region,
    StateDir,
    Target,
    app,
    fail,
    out,
)
from chaos.cli.inputs import check_target, endpoints_for, render_load
from chaos.cli.output import OutputFormat, document, emit, machine
from cluster.endpoints import default_state_dir


@app.command("provision")
def provision(
    profile: ProfileName = "seed",
    target: Target = "local",
    name: ClusterName = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the AWS calls and manifests; change nothing.")] = False,
    state_dir: StateDir = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for nodes, replicas and the ALB.")] = 300.0,
    ami: Annotated[str | None, typer.Option("--ami", help="eks: node AMI id (default: the EKS-optimized AL2023 AMI from SSM).")] = None,
    aws_only: Annotated[bool, typer.Option("--aws-only", help="Create the AWS side (and, on eks, the kubeconfig) but apply no manifests.")] = False,
) -> None:
    """Create the serving cluster from a profile and wait until it serves predictions."""
    from chaos import provisioning as p

    try:
        cluster = p.resolve(profile, name)
        if dry_run:
            check_target(target)
            p.dry_run(cluster, out)
            return
        endpoints = endpoints_for(target, cluster, state_dir)
        url = p.provision(cluster, endpoints, timeout, out, ami=ami, aws_only=aws_only)  # type: ignore[arg-type]
    except p.ProvisioningFailed as exc:
        fail(str(exc))
    if url:
        out.print(f"{cluster.name} ({cluster.profile}) is serving: POST {url}", soft_wrap=True)


@app.command("teardown")
def teardown(
    profile: ProfileName = "seed",
    target: Target = "local",
    name: ClusterName = None,
    state_dir: StateDir = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the ALB, instances and nodes to go.")] = 300.0,
) -> None:
    """Delete what `provision` created (found by its spotchaos:cluster tag and the rendered objects)."""
    from chaos import provisioning as p

    try:
        cluster = p.resolve(profile, name)
        endpoints = endpoints_for(target, cluster, state_dir)
        done = p.teardown(cluster, endpoints, timeout, out)  # type: ignore[arg-type]
    except p.ProvisioningFailed as exc:
        fail(str(exc))
    out.print(f"{cluster.name}: {len(done)} resources deleted")


@app.command("render")
def render_profile(
    profile: ProfileName = "seed",
    name: ClusterName = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write cluster.yaml (eksctl) and manifests.yaml into (with --runner: the runner's files).")] = Path("spotchaos-cluster"),
    account: Annotated[str, typer.Option("--account", help="AWS account id for the IRSA role ARNs and NTH's queue URL.")] = "123456789012",
    runner: Annotated[bool, typer.Option("--runner", help="Write the in-cluster runner instead: Dockerfile, runner.yaml (CronJob, RBAC, ServiceAccount, experiments), iam-policy.json.")] = False,
    image: Annotated[str | None, typer.Option("--image", help="--runner: the harness image the CronJob runs (default: spotchaos:VERSION in the account's ECR); build-and-push.sh builds and pushes it.")] = None,
    experiment: Annotated[list[Path] | None, typer.Option("--experiment", help="--runner: an experiment file to run (repeat for more; run one after another).")] = None,
    schedule: Annotated[str, typer.Option("--schedule", help="--runner: the CronJob's schedule (cron syntax, UTC).")] = "0 3 * * *",
    region: Region = None,
    upload: Annotated[str | None, typer.Option("--upload", help="--runner: s3://BUCKET/PREFIX the runs upload to (the policy allows putting there).")] = None,
    oidc_issuer: Annotated[str | None, typer.Option("--oidc-issuer", help="--runner: the cluster's OIDC issuer URL, to write the role's trust policy.")] = None,
    create_role: Annotated[bool, typer.Option("--create-role", help="--runner: also create (or update) the runner's IAM role, with AWS as the environment configures it.")] = False,
    load: Annotated[Path | None, typer.Option("--load", help="Write this experiment's load instead: load-job.yaml, the Indexed Job of its shards (traffic.placement: cluster).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="--load: where the shards send (default: the experiment's traffic.url).")] = None,
    fis: Annotated[Path | None, typer.Option("--fis", help="Write this experiment's FIS injections instead, as templates that select by tags: "
                                                        "CLI input JSON, CloudFormation and Terraform.")] = None,
    role_arn: Annotated[str | None, typer.Option("--role-arn", help="--fis: the IAM role FIS runs as (default: the experiment's target.fis_role_arn).")] = None,
    alarm: Annotated[list[str] | None, typer.Option("--alarm", help="--fis: a CloudWatch alarm ARN that stops the experiment (repeatable; "
                                                                   "added to the experiment's stop_conditions).")] = None,
    nodegroup_tag: Annotated[str, typer.Option("--nodegroup-tag", help="--fis: the instance tag naming a node group (alpha.eksctl.io/nodegroup-name "
                                                                      "for eksctl's self-managed groups).")] = "eks:nodegroup-name",
    az: Annotated[list[str] | None, typer.Option("--az", help="--fis: the zones a capacity-error that names none (it takes its group's own at run time) "
                                                              "fails launches in (comma-separated or repeated).")] = None,
) -> None:
    """Write a profile as an eksctl ClusterConfig and Kubernetes manifests, for `eksctl create cluster -f` and `kubectl apply -f`; or, with --runner, the in-cluster runner; or, with --load, an experiment's load as a Job; or, with --fis, an experiment's FIS templates."""
    import yaml

    from chaos import provisioning as p
    from cluster.eksctl import cluster_config

    if load is not None:
        render_load(load, url, out_dir)
        return
    if fis is not None:
        from chaos.cli.render_fis import render_fis

        render_fis(fis, out_dir, role_arn, alarm or [], name, nodegroup_tag, tuple(z.strip() for a in az or [] for z in a.split(",") if z.strip()))
        return
    if runner:
        _render_runner(out_dir, account, image, experiment or [], schedule, region, upload, oidc_issuer, name, create_role)
        return
    if not (account.isdigit() and len(account) == 12):
        fail(f"--account must be a 12-digit AWS account id, got '{account}'")
    try:
        cluster = p.resolve(profile, name)
        objects = p.render(cluster, account)
        p.validate(objects, cluster.kubernetes_version)
    except (p.ProvisioningFailed, p.ManifestError) as exc:
        fail(str(exc))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "cluster.yaml").write_text(yaml.safe_dump(cluster_config(cluster), sort_keys=False))
        (out_dir / "manifests.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
        if cluster.karpenter is not None:
            (out_dir / "karpenter-values.yaml").write_text(yaml.safe_dump(p.karpenter_helm_values(cluster, account), sort_keys=False))
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write there: {exc.strerror or exc}")
    out.print(f"wrote {out_dir / 'cluster.yaml'} and {out_dir / 'manifests.yaml'} ({len(objects)} objects)", soft_wrap=True)
    if cluster.karpenter is not None:
        out.print(f"wrote {out_dir / 'karpenter-values.yaml'}: install Karpenter with it first (helm upgrade --install karpenter "
                  f"oci://public.ecr.aws/karpenter/karpenter --version {cluster.karpenter.version} -n kube-system -f karpenter-values.yaml); "
                  "manifests.yaml has its controller Deployment too, as the chart renders it", soft_wrap=True)


def _render_runner(out_dir: Path, account: str, image: str | None, experiments: list[Path], schedule: str, region: str | None,
                   upload: str | None, oidc_issuer: str | None, cluster: str | None, create_role: bool) -> None:
    from chaos.errors import ChaosError
    from chaos.runner.render import RunnerOptions, render_runner

    try:  # every missing or invalid option is named at once (runner_render.option_problems)
        written = render_runner(RunnerOptions(image or "", account, region or "", cluster or "", tuple(experiments), schedule,
                                              upload=upload, oidc_issuer=oidc_issuer, create_role=create_role), out_dir)
    except ChaosError as exc:
        fail(str(exc))
        return
    out.print("wrote " + " ".join(str(w) for w in written), soft_wrap=True, highlight=False, markup=False)
    out.print(f"build and push the harness image from the spotchaos source's root: sh {out_dir / 'build-and-push.sh'}",
              soft_wrap=True, highlight=False, markup=False)
    if create_role:
        out.print(f"IAM role spotchaos-runner created or updated in account {account}", soft_wrap=True, highlight=False, markup=False)
    elif not oidc_issuer:
        out.print("the role's trust policy needs the cluster's OIDC issuer: give --oidc-issuer "
                  "(aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer)", soft_wrap=True, highlight=False, markup=False)


@app.command("doctor")
def doctor(
    manifests: Annotated[list[Path] | None, typer.Option("--manifests", "-f", help="Manifest files or directories (YAML/JSON, helm template output; an eksctl ClusterConfig among them adds node groups). Repeatable.")] = None,
    eksctl: Annotated[Path | None, typer.Option("--from-eksctl", help="The cluster's eksctl ClusterConfig: its node groups are checked too.")] = None,
    kustomize: Annotated[list[Path] | None, typer.Option("--kustomize", "-k", help="Kustomize directories, built with `kubectl kustomize`. Repeatable.")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Check a profile's rendered manifests and node groups (seed, hardened, managed, karpenter or a YAML file).")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Check a running cluster: local (the simulator) or eks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON (as -o json).")] = False,
    output: OutputFormat = None,
    state_dir: StateDir = None,
    context: KubeContext = None,
    kubeconfig: KubeconfigFile = None,
    region: Region = None,
) -> None:
    """Static Spot-readiness checks; exit 1 when an error-level finding exists."""
    from chaos import api_errors
    from chaos import doctor as d
    from chaos.errors import ChaosError

    files = bool(manifests or eksctl or kustomize)
    if files + (profile is not None) + (target is not None) > 1:
        fail("give one of: the cluster's files (--manifests, --from-eksctl, --kustomize), --profile or --target")
    try:
        if files:
            objects, groups = d.from_inputs(manifests or [], eksctl, kustomize or [])
        elif profile is not None:
            objects, groups = d.from_profile(profile)
        elif target == "eks":
            from chaos.target import context_endpoints

            objects, groups = d.from_cluster(context_endpoints(kubeconfig, context, region))
        else:
            check_target(target or "local")
            from chaos import provisioning as p

            objects, groups = d.from_cluster(p.local_endpoints(state_dir or default_state_dir()))
    except typer.Exit:
        raise
    except api_errors.sdk_errors() as exc:
        fail(f"cannot read the cluster: {api_errors.describe(exc)}")
    except (d.DoctorInputError, ValueError, RuntimeError, ChaosError) as exc:
        fail(str(exc))
    try:
        findings = d.run(objects, groups)
    except ValueError as exc:
        fail(str(exc))
    if as_json or machine(output):
        emit(document("DoctorReport", **d.summary(findings)), "yaml" if output == "yaml" else "json")
    else:
        d.show(findings, out)
    if any(f.level == "error" for f in findings):
        raise typer.Exit(1)
