"""The `spotchaos` command line: the composition root that starts simulators and runs the harness."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from chaos import __version__
from chaos.logs import configure
from chaos.redaction import redact_urls
from cluster.endpoints import Endpoints, default_state_dir, is_recorded_simulator, signallable_pid

app = typer.Typer(help="Spot-interruption chaos and resilience harness for model serving on Kubernetes.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
sim_app = typer.Typer(help="The local Spot EKS simulator.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
err = Console(stderr=True)
out = Console()

StateDir = Annotated[Path | None, typer.Option("--state-dir", help="Where the simulator writes kubeconfig and endpoints.json (default: per-user state dir).")]
def _log_format_choice(value: str) -> str:
    if value not in ("console", "json"):
        raise typer.BadParameter(f"console or json, not {value!r}")
    return value


def _pid_choice(value: int | None) -> int | None:
    if value is not None and not signallable_pid(value):
        raise typer.BadParameter(f"a process id above 1, not {value}")
    return value


LogFormat = Annotated[str, typer.Option("--log-format", help="console or json", callback=_log_format_choice)]
HistoryUrl = Annotated[str | None, typer.Option("--history", help="The run history: an SQLAlchemy URL, or off (default: $SPOTCHAOS_HISTORY, else SQLite in the user's data directory).")]
ReadHistoryUrl = Annotated[str | None, typer.Option("--history", help="The run history to read: an SQLAlchemy URL (default: $SPOTCHAOS_HISTORY, else SQLite in the user's data directory).")]


def _fail(message: str, code: int = 3) -> None:
    """One line naming the problem (the message is text, never markup: it may quote user input)."""
    err.print(f"[red]error:[/red] {escape(redact_urls(message))}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def _writable(path: Path) -> bool:
    """Whether a file can be written at `path` (checked before work whose results go there)."""
    # os.path's tests answer False for names the system cannot look up (too long), pathlib's raise
    if os.path.lexists(path):
        return os.path.isfile(path) and os.access(path, os.W_OK)
    parent = path.parent if str(path.parent) else Path(".")
    return os.path.isdir(parent) and os.access(parent, os.W_OK)


def _env_lines(ep: Endpoints) -> list[str]:
    return [
        f"export KUBECONFIG={ep.kubeconfig}",
        f"export AWS_ENDPOINT_URL={ep.aws_endpoint_url}  # awscli v1's sqs commands need --endpoint-url \"$AWS_ENDPOINT_URL\" too",
        f"export AWS_DEFAULT_REGION={ep.region}",
        "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing  # the simulator accepts any credentials",
    ]


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@sim_app.command("up")
def sim_up(
    speed: Annotated[float | None, typer.Option(help="Cluster time runs this many times faster than real time.")] = None,
    state_dir: StateDir = None,
    config: Annotated[Path | None, typer.Option("--config", help="Simulator config YAML (timings, capacity pools).")] = None,
    demo_nodes: Annotated[int, typer.Option("--demo-nodes", help="Create a Spot node group with this many nodes once up.")] = 0,
    demo_replicas: Annotated[int, typer.Option("--demo-replicas", help="With --demo-nodes: a TF Serving service of this many replicas behind an ALB (0: none).")] = 5,
    exit_with: Annotated[int | None, typer.Option("--exit-with", help="Stop when the process with this pid exits (the harness passes its own).", callback=_pid_choice)] = None,
    log_format: LogFormat = "console",
) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM."""
    configure(log_format)
    from cluster.sim import ConfigError, load_config
    from cluster.sim.runner import serve

    negative = [name for name, value in (("--demo-nodes", demo_nodes), ("--demo-replicas", demo_replicas)) if value < 0]
    if negative:
        _fail(f"{' and '.join(negative)} must be 0 or more")
    try:
        cfg = load_config(config, speed=speed)
    except ConfigError as exc:
        _fail(str(exc))
    directory = state_dir or default_state_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"--state-dir {directory}: cannot create it: {exc.strerror or exc}")
    if not os.access(directory, os.W_OK):
        _fail(f"--state-dir {directory}: not writable; give another --state-dir")
    running = _running(directory)
    if running is not None:
        _fail(f"a simulator is already running from {directory} (pid {running.pid}); stop it with `spotchaos sim down` or use another --state-dir")

    def ready(ep: Endpoints) -> None:
        print(json.dumps(_public(ep), indent=2))
        print("\n".join(["# In another shell:"] + _env_lines(ep) + ["kubectl get nodes", "aws ec2 describe-instances --query 'Reservations[].Instances[].[InstanceId,InstanceType,State.Name]'"]))
        (directory / "env").write_text("\n".join(_env_lines(ep)) + "\n")
        if demo_nodes:
            from cluster.nodegroups import create_demo_node_group

            name = create_demo_node_group(ep.aws_endpoint_url, ep.region, demo_nodes)
            print(f"# created Auto Scaling group {name} with {demo_nodes} Spot instances; nodes register after the boot delay")
            if demo_replicas:
                import threading

                from cluster.demo import PREDICT_PATH, apply_demo_service

                # through the Kubernetes API served by this very process: from a thread, not the event loop
                threading.Thread(target=apply_demo_service, args=(ep.kubeconfig, demo_replicas), daemon=True).start()
                print(f"# created a TF Serving Deployment 'resnet' ({demo_replicas} replicas) behind an ALB Ingress; once it is up:")
                print("ALB=$(kubectl get ingress resnet -o jsonpath='{.status.loadBalancer.ingress[0].ip}')")
                print(f"curl -s -X POST http://$ALB{PREDICT_PATH} -d '{{\"instances\": [[1.0, 2.0, 3.0]]}}' | head -c 200; echo")
                print(f"spotchaos load http://$ALB{PREDICT_PATH} --rps 100 --duration 30s")
        sys.stdout.flush()

    from chaos.event_loop import run

    try:
        failures = run(serve(cfg, directory, ready, exit_with=exit_with))
    except ConfigError as exc:  # an address range another simulator holds
        _fail(str(exc))
    if failures:
        _fail(f"simulator tasks failed: {failures}", 2)


def _public(ep: Endpoints) -> dict[str, object]:
    return {"target": ep.target, "kube_api_url": ep.kube_api_url, "kubeconfig": ep.kubeconfig, "aws_endpoint_url": ep.aws_endpoint_url, "region": ep.region, "clock_speed": ep.clock_speed, "pid": ep.pid}


def _running(directory: Path) -> Endpoints | None:
    try:
        ep = Endpoints.read(directory)
    except (OSError, ValueError, TypeError):
        return None
    if not is_recorded_simulator(ep):
        return None  # gone, or its pid now belongs to another process: never signal that one
    return ep


@sim_app.command("status")
def sim_status(state_dir: StateDir = None) -> None:
    """Show the running simulator's endpoints (exit 1 when none runs)."""
    directory = state_dir or default_state_dir()
    ep = _running(directory)
    if ep is None:
        err.print(f"no simulator running from {directory}; start one with `spotchaos sim up`")
        raise typer.Exit(1)
    print(json.dumps(_public(ep), indent=2))


@sim_app.command("down")
def sim_down(state_dir: StateDir = None) -> None:
    """Stop the simulator running from the state directory."""
    directory = state_dir or default_state_dir()
    try:
        Endpoints.read(directory)
    except ValueError as exc:  # a forged or damaged file: never signal what it names
        _fail(f"{exc}; not signalling anything (remove the file if no simulator runs from {directory})")
    except (OSError, TypeError):
        pass
    ep = _running(directory)
    if ep is None or not signallable_pid(ep.pid):
        err.print(f"no simulator running from {directory}")
        return
    assert ep.pid is not None
    os.kill(ep.pid, signal.SIGTERM)
    out.print(f"sent SIGTERM to simulator pid {ep.pid}")


ProfileName = Annotated[str, typer.Option("--profile", help="seed (the walkthrough's cluster) or hardened (made Spot-ready)")]
Target = Annotated[str, typer.Option("--target", help="local (the running simulator) or eks")]
ClusterName = Annotated[str | None, typer.Option("--name", help="Cluster name (default TensorFlowServingCluster)")]


KubeContext = Annotated[str | None, typer.Option("--context", help="eks: kubeconfig context (default: the current one).")]
KubeconfigFile = Annotated[str | None, typer.Option("--kubeconfig", help="eks: kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")]
Region = Annotated[str | None, typer.Option("--region", help="eks: AWS region (default: $AWS_REGION).")]


def _account_endpoints(target: str, state_dir: Path | None, kubeconfig: str | None, context: str | None, region: str | None) -> Endpoints:
    """Where an account-level command goes: the running simulator, or an EKS kubeconfig context and region."""
    _target(target)
    if target == "eks":
        from chaos.target import context_endpoints

        return context_endpoints(kubeconfig, context, region)
    from chaos import provisioning as p

    return p.local_endpoints(state_dir or default_state_dir())


def _target(target: str) -> None:
    if target not in ("local", "eks"):
        _fail(f"--target must be local or eks, got '{target}'")


def _endpoints_for(target: str, cluster: object, state_dir: Path | None) -> object:
    from chaos import provisioning as p

    _target(target)
    if target == "eks":
        return p.eks_endpoints(cluster, state_dir)  # type: ignore[arg-type]
    return p.local_endpoints(state_dir or default_state_dir())


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
            _target(target)
            p.dry_run(cluster, out)
            return
        endpoints = _endpoints_for(target, cluster, state_dir)
        url = p.provision(cluster, endpoints, timeout, out, ami=ami, aws_only=aws_only)  # type: ignore[arg-type]
    except p.ProvisioningFailed as exc:
        _fail(str(exc))
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
        endpoints = _endpoints_for(target, cluster, state_dir)
        done = p.teardown(cluster, endpoints, timeout, out)  # type: ignore[arg-type]
    except p.ProvisioningFailed as exc:
        _fail(str(exc))
    out.print(f"{cluster.name}: {len(done)} resources deleted")


@app.command("render")
def render_profile(
    profile: ProfileName = "seed",
    name: ClusterName = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write cluster.yaml (eksctl) and manifests.yaml into (with --runner: the runner's files).")] = Path("spotchaos-cluster"),
    account: Annotated[str, typer.Option("--account", help="AWS account id for the IRSA role ARNs and NTH's queue URL.")] = "123456789012",
    runner: Annotated[bool, typer.Option("--runner", help="Write the in-cluster runner instead: Dockerfile, runner.yaml (CronJob, RBAC, ServiceAccount, experiments), iam-policy.json.")] = False,
    image: Annotated[str | None, typer.Option("--image", help="--runner: the harness image the CronJob runs (built from the Dockerfile written).")] = None,
    experiment: Annotated[list[Path] | None, typer.Option("--experiment", help="--runner: an experiment file to run (repeat for more; run one after another).")] = None,
    schedule: Annotated[str, typer.Option("--schedule", help="--runner: the CronJob's schedule (cron syntax, UTC).")] = "0 3 * * *",
    region: Region = None,
    upload: Annotated[str | None, typer.Option("--upload", help="--runner: s3://BUCKET/PREFIX the runs upload to (the policy allows putting there).")] = None,
    oidc_issuer: Annotated[str | None, typer.Option("--oidc-issuer", help="--runner: the cluster's OIDC issuer URL, to write the role's trust policy.")] = None,
    create_role: Annotated[bool, typer.Option("--create-role", help="--runner: also create (or update) the runner's IAM role, with AWS as the environment configures it.")] = False,
    load: Annotated[Path | None, typer.Option("--load", help="Write this experiment's load instead: load-job.yaml, the Indexed Job of its shards (traffic.placement: cluster).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="--load: where the shards send (default: the experiment's traffic.url).")] = None,
) -> None:
    """Write a profile as an eksctl ClusterConfig and Kubernetes manifests, for `eksctl create cluster -f` and `kubectl apply -f`; or, with --runner, the in-cluster runner; or, with --load, an experiment's load as a Job."""
    import yaml

    from chaos import provisioning as p
    from cluster.eksctl import cluster_config

    if load is not None:
        _render_load(load, url, out_dir)
        return
    if runner:
        _render_runner(out_dir, account, image, experiment or [], schedule, region, upload, oidc_issuer, name, create_role)
        return
    if not (account.isdigit() and len(account) == 12):
        _fail(f"--account must be a 12-digit AWS account id, got '{account}'")
    try:
        cluster = p.resolve(profile, name)
        objects = p.render(cluster, account)
        p.validate(objects, cluster.kubernetes_version)
    except (p.ProvisioningFailed, p.ManifestError) as exc:
        _fail(str(exc))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "cluster.yaml").write_text(yaml.safe_dump(cluster_config(cluster), sort_keys=False))
        (out_dir / "manifests.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
        if cluster.karpenter is not None:
            (out_dir / "karpenter-values.yaml").write_text(yaml.safe_dump(p.karpenter_helm_values(cluster, account), sort_keys=False))
    except OSError as exc:
        _fail(f"--out {out_dir}: cannot write there: {exc.strerror or exc}")
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
        _fail(str(exc))
        return
    out.print("wrote " + " ".join(str(w) for w in written), soft_wrap=True, highlight=False, markup=False)
    if create_role:
        out.print(f"IAM role spotchaos-runner created or updated in account {account}", soft_wrap=True, highlight=False, markup=False)
    elif not oidc_issuer:
        out.print("the role's trust policy needs the cluster's OIDC issuer: give --oidc-issuer "
                  "(aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer)", soft_wrap=True, highlight=False, markup=False)


@app.command("doctor")
def doctor(
    manifests: Annotated[Path | None, typer.Option("--manifests", help="A directory of manifests (YAML/JSON; an eksctl ClusterConfig adds node groups).")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Check a profile's rendered manifests and node groups (seed, hardened, managed or a YAML file).")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Check a running cluster: local (the simulator) or eks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    state_dir: StateDir = None,
    context: KubeContext = None,
    kubeconfig: KubeconfigFile = None,
    region: Region = None,
) -> None:
    """Static Spot-readiness checks; exit 1 when an error-level finding exists."""
    from chaos import api_errors
    from chaos import doctor as d
    from chaos.errors import ChaosError

    chosen = [x for x in (manifests, profile, target) if x is not None]
    if len(chosen) > 1:
        _fail("give one of --manifests, --profile or --target")
    try:
        if manifests is not None:
            objects, groups = d.from_manifests(manifests)
        elif profile is not None:
            from chaos import provisioning as p

            cluster = p.resolve(profile, None)
            objects = p.render(cluster)
            groups = [d.NodeGroupFacts(s.name, tuple(s.instance_types), s.spot, s.max_size, s.tags()) for s in p.node_group_specs(cluster)]
        elif target == "eks":
            from chaos.target import context_endpoints

            objects, groups = d.from_cluster(context_endpoints(kubeconfig, context, region))
        else:
            _target(target or "local")
            from chaos import provisioning as p

            objects, groups = d.from_cluster(p.local_endpoints(state_dir or default_state_dir()))
    except typer.Exit:
        raise
    except api_errors.sdk_errors() as exc:
        _fail(f"cannot read the cluster: {api_errors.describe(exc)}")
    except (d.DoctorInputError, ValueError, RuntimeError, ChaosError) as exc:
        _fail(str(exc))
    try:
        findings = d.run(objects, groups)
    except ValueError as exc:
        _fail(str(exc))
    d.show(findings, out, as_json)
    if any(f.level == "error" for f in findings):
        raise typer.Exit(1)


@app.command("load")
def load(
    url: Annotated[str, typer.Argument(help="http:// URL, e.g. the ALB's http://127.200.0.1/v1/models/resnet:predict")],
    rps: Annotated[float, typer.Option("--rps", help="Arrival rate (requests per second), held whatever the target does.")] = 100.0,
    duration: Annotated[str, typer.Option("--duration", help="How long: 60s, 2m, 500ms.")] = "30s",
    profile: Annotated[str, typer.Option("--profile", help="constant | ramp (from --rps to --ramp-to) | step (--steps)")] = "constant",
    ramp_to: Annotated[float | None, typer.Option("--ramp-to", help="Final rate of a ramp.")] = None,
    steps: Annotated[str | None, typer.Option("--steps", help="Stages of a step profile: 30s:100,30s:400")] = None,
    body: Annotated[str, typer.Option("--body", help="image (a JPEG as base64, like the seed's client) | tensor | none | @FILE")] = "image",
    timeout: Annotated[str, typer.Option("--timeout", help="Per-request timeout.")] = "30s",
    max_connections: Annotated[int, typer.Option("--max-connections", help="Connections the generator may open.")] = 2000,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON summary here (default: print it).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No live progress.")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Processes sending the load (each every N-th request of the one schedule); their measurements are merged.")] = 1,
) -> None:
    """Open-loop HTTP load with HDR latency (from scheduled send times) and classified errors."""
    from chaos.load.bodies import body_for
    from chaos.load.profile import ProfileError, constant, parse_duration, parse_steps, ramp
    from chaos.load.profile import steps as step_profile
    from chaos.load.report import print_summary, run_with_progress
    from chaos.load.run import LoadError, LoadSpec
    from chaos.spec import url_problem

    try:
        problem = url_problem(url)
        if problem:
            raise ProfileError(f"URL: {problem}")
        if not 1 <= max_connections <= 100_000:
            raise ProfileError(f"--max-connections must be from 1 to 100000 (got {max_connections})")
        if json_out is not None and not _writable(json_out):
            raise ProfileError(f"--json {json_out}: cannot write there (the results would be lost after the run)")
        seconds = parse_duration(duration)
        if profile == "constant":
            prof = constant(rps, seconds)
        elif profile == "ramp":
            prof = ramp(rps, ramp_to if ramp_to is not None else rps, seconds)
        elif profile == "step":
            prof = step_profile(parse_steps(steps or ""))
        else:
            raise ProfileError(f"--profile '{profile}': use constant, ramp or step")
        spec = LoadSpec(url, prof, body=body_for(body), timeout=parse_duration(timeout, "--timeout"), max_connections=max_connections)
        if workers == 1:
            summary = run_with_progress(spec, show=not quiet and err.is_terminal, console=err)
        else:
            from chaos.load.workers import run_load_workers

            if not quiet:
                err.print(f"{workers} worker processes, {prof.total} requests over {prof.duration:g}s", highlight=False)
            summary = run_load_workers(spec, workers)
    except (ProfileError, LoadError) as exc:
        _fail(str(exc))
        return
    print_summary(summary, err)
    text = json.dumps(summary, indent=2)
    if json_out is not None:
        json_out.write_text(text)
    else:
        sys.stdout.write(text + "\n")
    if not summary["rate_held"]:
        err.print(f"[yellow]warning:[/yellow] the generator did not hold {summary['intended_rps']} rps "
                  f"(achieved {summary['achieved_rps']} rps, lateness p99 {summary['generator_lateness_ms']['p99']} ms); "
                  "latencies still count from the scheduled times")


@app.command("load-shard")
def load_shard(
    url: Annotated[str, typer.Argument(help="http:// URL the load goes to (the ALB's predict URL).")],
    rps: Annotated[float, typer.Option("--rps", help="The whole load's rate: this shard sends every --shards-th request of it.")] = 100.0,
    duration: Annotated[str, typer.Option("--duration", help="How long: 60s, 2m.")] = "30s",
    ramp_to: Annotated[float | None, typer.Option("--ramp-to", help="Ramp the whole load from --rps to this.")] = None,
    body: Annotated[str, typer.Option("--body", help="image | tensor | none | @FILE")] = "image",
    timeout: Annotated[str, typer.Option("--timeout", help="Per-request timeout.")] = "10s",
    shards: Annotated[int, typer.Option("--shards", help="How many shards share the schedule.")] = 1,
    index: Annotated[int | None, typer.Option("--index", help="This shard's index (default: $JOB_COMPLETION_INDEX, as an Indexed Job sets it).")] = None,
    start_at: Annotated[float | None, typer.Option("--start-at", help="Unix time of the schedule's t=0, the same for every shard (default: 2 s from now).")] = None,
    source: Annotated[str | None, typer.Option("--source-address", help="The local address to send from (default: $POD_IP, as the Job sets it; else any).")] = None,
) -> None:
    """One shard of a load spread over processes or pods: its share of the schedule, reported on
    stdout for the harness to merge (how `traffic.placement: cluster` runs as an Indexed Job)."""

    from chaos import event_loop
    from chaos.clock import monotonic_at_wall, wall_seconds
    from chaos.load.bodies import body_for
    from chaos.load.engine import LoadError
    from chaos.load.profile import ProfileError, constant, parse_duration, ramp
    from chaos.load.run import LoadSpec
    from chaos.load.shard import run_shard
    from chaos.spec import url_problem

    try:
        problem = url_problem(url)
        if problem:
            raise ProfileError(f"URL: {problem}")
        if index is None:
            raw = os.environ.get("JOB_COMPLETION_INDEX", "")
            if not raw.isdigit():
                raise ProfileError("--index: not given, and JOB_COMPLETION_INDEX is not set (an Indexed Job sets it)")
            index = int(raw)
        if not 1 <= shards <= 1000 or not 0 <= index < shards:
            raise ProfileError(f"--index {index} of --shards {shards}: the index must be from 0 to shards-1, shards from 1 to 1000")
        seconds = parse_duration(duration)
        profile = ramp(rps, ramp_to, seconds) if ramp_to is not None else constant(rps, seconds)
        source = source or os.environ.get("POD_IP") or None
        if source is not None and not _is_ip(source):
            raise ProfileError(f"--source-address {source!r}: give an IP address of this machine (or leave it out)")
        spec = LoadSpec(url, profile, body=body_for(body), timeout=parse_duration(timeout, "--timeout"), per_second_histograms=True, source=source)
    except (ProfileError, LoadError) as exc:  # an input error, like every other (2 means aborted)
        _fail(str(exc))
        return
    t0 = monotonic_at_wall(start_at if start_at is not None else wall_seconds() + 2.0)
    raise typer.Exit(event_loop.run(run_shard(spec, index, shards, t0)))


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


ExperimentFile = Annotated[Path, typer.Argument(help="An experiment YAML (see experiments/ and docs/experiment.md).")]


def _render_load(file: Path, url: str | None, out_dir: Path) -> None:
    import yaml

    from chaos.load.shard_job import experiment_load_job
    from chaos.run.identity import new_run_id
    from chaos.spec import url_problem
    from cluster.profiles import load_profile

    spec: Any = _load(file)
    if spec.traffic.placement != "cluster":
        _fail(f"{file}: traffic.placement is local; set placement: cluster (and shards: N) to run its load as a Job")
    url = url or spec.traffic.url
    if url is None:
        _fail("--url: the experiment names no traffic.url; give the ALB's predict URL (http://ALB/v1/models/NAME:predict)")
    problem = url_problem(str(url))
    if problem:
        _fail(f"--url: {problem}")
    namespace = load_profile(spec.cluster.profile, spec.cluster.name, spec.cluster.overrides).serving.namespace if spec.cluster.profile \
        else spec.cluster.service.namespace
    job = experiment_load_job(spec, new_run_id(spec.name), namespace, str(url))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "load-job.yaml").write_text(yaml.safe_dump(job, sort_keys=False))
    except OSError as exc:
        _fail(f"--out {out_dir}: cannot write there: {exc.strerror or exc}")
    out.print(f"wrote {out_dir / 'load-job.yaml'}: {spec.traffic.shards} shards of {spec.traffic.rate:g} req/s in {namespace} "
              f"(kubectl apply -f; read each shard with kubectl logs)", soft_wrap=True, highlight=False)


def _load(file: Path, target: str | None = None, speed: float | None = None) -> object:
    from chaos.errors import SpecError
    from chaos.spec import load_experiment, parse_experiment

    try:
        spec = load_experiment(file)
        if target is not None or speed is not None:
            data = spec.model_dump(mode="json", exclude_unset=True)
            data.setdefault("target", {})
            if target is not None:
                data["target"]["kind"] = target
            if speed is not None:
                data["target"]["speed"] = speed
            spec = parse_experiment(data, f"{file} (with --target/--speed)")
    except SpecError as exc:
        _fail(str(exc))
    return spec


@app.command("validate")
def validate_experiment(file: ExperimentFile) -> None:
    """Check an experiment file; exit 3 with the field and the fix when it is wrong."""
    spec = _load(file)
    out.print(f"{file}: valid experiment '{spec.name}' ({len(spec.injections)} injections, {len(spec.hypotheses)} hypotheses)", highlight=False, soft_wrap=True, markup=False)  # type: ignore[attr-defined]


@app.command("schema")
def experiment_schema() -> None:
    """Print the experiment JSON Schema (docs/experiment.schema.json)."""
    from chaos.spec import schema_text

    sys.stdout.write(schema_text())


@app.command("plan")
def plan_experiment(file: ExperimentFile, target: Annotated[str | None, typer.Option("--target", help="local or eks")] = None) -> None:
    """Show what an experiment would do, without touching any cluster (`run --dry-run` also picks the nodes)."""
    from chaos.plan_text import plan_lines

    spec = _load(file, target)
    for line in plan_lines(spec):  # type: ignore[arg-type]
        out.print(line, highlight=False, soft_wrap=True, markup=False)


@app.command("history")
def history_cmd(
    args: Annotated[list[str] | None, typer.Argument(help="EXPERIMENT to list its runs, or: import RUN_DIR... to load runs from their journals.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only runs started at or after this ISO date or time, e.g. 2026-11-01.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only runs on local or eks.")] = None,
    history: ReadHistoryUrl = None,
) -> None:
    """The run history: a table of runs (newest first), or `history import DIR...` to load run directories from their journals."""
    from rich.table import Table

    from chaos.history.store import HistoryError, open_store, refuse_off, remember, runs
    from chaos.journal import JournalError, journal_file, read_journal_checked
    from chaos.report.data import build_read

    words = list(args or [])
    try:
        refuse_off(history)
        engine = open_store(history)
    except HistoryError as exc:
        _fail(str(exc))
        return
    if words[:1] == ["import"]:
        if len(words) < 2:
            _fail("history import needs one or more run directories (or journal.jsonl files)")
        failed = 0
        for name in words[1:]:
            path = Path(name)
            journal = journal_file(path)
            try:
                reading = read_journal_checked(journal)
                data = build_read(reading)
            except (JournalError, OSError) as exc:
                err.print(f"[red]skipped[/red] {escape(name)}: {escape(str(exc))}", highlight=False, soft_wrap=True)
                failed += 1
                continue
            problem = remember(data, journal.parent, history or os.environ.get("SPOTCHAOS_HISTORY"))
            if problem:
                _fail(problem)
            out.print(f"imported {escape(data.spec.name)} ({escape(str(data.verdict.status))}) from {escape(name)}", highlight=False, soft_wrap=True)
        raise typer.Exit(3 if failed else 0)
    if len(words) > 1:
        _fail("give one EXPERIMENT name, or: history import RUN_DIR...")
    rows = runs(engine, words[0] if words else None, since, target)
    if not rows:
        out.print("no runs recorded" + (f" for {escape(words[0])}" if words else "") + " yet", highlight=False)
        return
    table = Table(box=None)
    table.add_column("started (UTC)", no_wrap=True)
    for name in ("experiment", "target", "verdict", "errors", "p99 ms"):
        table.add_column(name, overflow="fold")
    table.add_column("run directory", overflow="fold")
    for r in rows:
        p99 = "-" if r["p99_ms"] is None else f"{r['p99_ms']:.0f}"
        where = r["target"] + "".join(f" {r[k]}" for k in ("account", "cluster") if r.get(k))
        table.add_row(escape(r["started"][:16].replace("T", " ")), escape(r["experiment"]), escape(where), escape(r["verdict"]),
                      f"{(r['error_rate'] or 0):.2%}", p99, escape(r["run_dir"]))
    out.print(table)


@app.command("trend")
def trend_cmd(
    experiment: Annotated[str, typer.Argument(help="The experiment's name, as the run history has it.")],
    html_file: Annotated[Path | None, typer.Option("--html", help="Write the charts here (one per hypothesis against its bound).")] = None,
    markdown_file: Annotated[Path | None, typer.Option("--markdown", help="Write the table here (pass rates, flaky hypotheses).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only runs started at or after this ISO date or time.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only runs on local or eks.")] = None,
    history: ReadHistoryUrl = None,
) -> None:
    """An experiment's hypotheses over its recorded runs: values against their bounds, pass rates, flaky ones."""
    from chaos.history.store import (
        HistoryError,
        hypothesis_history,
        milestone_history,
        open_store,
        refuse_off,
    )
    from chaos.history.trend import milestone_trends, trends
    from chaos.report import trend_page

    try:
        refuse_off(history)
        engine = open_store(history)
        items = trends(hypothesis_history(engine, experiment, since, target))
        milestones = milestone_trends(milestone_history(engine, experiment, since, target))
    except HistoryError as exc:
        _fail(str(exc))
        return
    if not items:
        _fail(f"no runs of {experiment} in the run history; `spotchaos history` lists what is there")
    for path, text in ((html_file, trend_page.html_page), (markdown_file, trend_page.markdown_page)):
        if path is None:
            continue
        if not _writable(path):
            _fail(f"cannot write {path}: give a writable file")
        path.write_text(text(experiment, items, milestones))
    out.print(trend_page.markdown_page(experiment, items, milestones), highlight=False, markup=False, soft_wrap=True)


@app.command("run")
def run_experiment(
    file: ExperimentFile,
    target: Annotated[str | None, typer.Option("--target", help="local (default: a simulator started for the run) or eks")] = None,
    speed: Annotated[float | None, typer.Option("--speed", help="local: cluster time runs this many times faster than real time")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Connect, provision and pick the nodes; inject nothing.")] = False,
    report_dir: Annotated[Path | None, typer.Option("--report-dir", help="Where the journal and reports go (default: spotchaos-runs/NAME-TIME).")] = None,
    live: Annotated[bool, typer.Option("--live/--no-live", help="Live view on the terminal.")] = True,
    history: HistoryUrl = None,
    fail_on_regression: Annotated[bool, typer.Option("--fail-on-regression", help="Exit 4 when the run passed but a measurement moved toward its bound beyond the tolerance, compared with the last passing runs.")] = False,
    upload: Annotated[str | None, typer.Option("--upload", help="Put the journal and reports in S3 at s3://BUCKET/PREFIX/RUN_ID/ (boto3 as the environment configures it).")] = None,
    notify: Annotated[str | None, typer.Option("--notify", help="POST a summary to this webhook (Slack, Teams or any JSON receiver) when the run did not pass or regressed.")] = None,
    notify_always: Annotated[bool, typer.Option("--notify-always", help="With --notify: post after every run, passed ones too.")] = False,
    log_format: LogFormat = "console",
) -> None:
    """Run an experiment; exit 0 passed, 1 failed, 2 aborted, 3 error, 4 passed but regressed (with --fail-on-regression)."""
    configure(log_format, level="warning" if log_format == "console" else "info")
    from chaos.errors import ChaosError
    from chaos.history.store import check_store
    from chaos.results_upload import parse_s3_url
    from chaos.run.results import Destinations
    from chaos.runner_cli import execute
    from chaos.webhook import check_url

    if notify_always and not notify:
        _fail("--notify-always needs --notify URL")
    try:  # checked before anything runs: a bad destination must not cost a run
        to = Destinations(history, parse_s3_url(upload) if upload else None, check_url(notify) if notify else None, notify_always)
        check_store(history)
    except ChaosError as exc:
        _fail(str(exc))
        return
    spec = _load(file, target, speed)
    code = execute(spec, report_dir, dry_run, live and err.is_terminal, out, err, fail_on_regression, to)  # type: ignore[arg-type]
    raise typer.Exit(code)


@app.command("gameday")
def gameday(
    file: ExperimentFile,
    target: Annotated[str | None, typer.Option("--target", help="local (default: a simulator started for the run) or eks")] = None,
    speed: Annotated[float | None, typer.Option("--speed", help="local: cluster time runs this many times faster than real time")] = None,
    report_dir: Annotated[Path | None, typer.Option("--report-dir", help="Where the journal, reports and postmortem draft go (default: spotchaos-runs/NAME-TIME).")] = None,
    log_format: LogFormat = "console",
) -> None:
    """A guided game day on a terminal: go/no-go checks executed, the driver's go, a full-screen live view with notes (n) and abort (a), a postmortem draft at the end."""
    spec = _load(file, target, speed)  # the file first: a bad one is the first thing to say
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        _fail("gameday needs a terminal (a person drives it); in CI or a pipe use `spotchaos run FILE`")
    configure(log_format, level="error" if log_format == "console" else "info")
    from chaos.gameday.driver import run_gameday
    from chaos.gameday.screen import terminal_console

    raise typer.Exit(run_gameday(spec, report_dir, terminal_console(), err))  # type: ignore[arg-type]


@app.command("watch")
def watch_run(
    run_dir: Annotated[Path, typer.Argument(help="A running run's directory (or its journal.jsonl), local or synced from S3.")],
) -> None:
    """The game-day screen, read-only, for observers: follows the run's journal until its verdict; exit code as the verdict."""
    from chaos.gameday.screen import terminal_console
    from chaos.gameday.watch import watch
    from chaos.journal import JournalError

    try:
        code = watch(run_dir, terminal_console())
    except JournalError as exc:
        _fail(str(exc))
        return
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


@app.command("note")
def add_note(
    run_dir: Annotated[Path, typer.Argument(help="A running run's directory (or its journal.jsonl).")],
    text: Annotated[str, typer.Argument(help="The note, as it should read in the timeline.")],
    author: Annotated[str | None, typer.Option("--author", help="Who wrote it (default: $SPOTCHAOS_AUTHOR, else $USER).")] = None,
) -> None:
    """Add an observer's note to a running run's journal, stamped with the run's cluster time now."""
    from chaos.gameday.driver import author_name
    from chaos.gameday.follow import append_note
    from chaos.journal import JournalError

    if not text.strip():
        _fail("the note is empty; give its text: spotchaos note RUN_DIR \"what you saw\"")
    try:
        record = append_note(run_dir, text.strip(), (author or author_name()).strip() or "observer")
    except JournalError as exc:
        _fail(str(exc))
        return
    except OSError as exc:
        _fail(f"{run_dir}: cannot add to the journal: {exc.strerror or exc}")
        return
    out.print(f"noted at t={record['t']:.1f}s", highlight=False, markup=False)


@app.command("report")
def rebuild_report(
    journal: Annotated[Path, typer.Argument(help="A run's directory or its journal.jsonl (also one a killed run left behind).")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write the reports here (default: next to the journal).")] = None,
) -> None:
    """Rebuild the Markdown, HTML, JSON and JUnit reports from a journal; exit code as the verdict."""
    from chaos.journal import JournalError, journal_file
    from chaos.report.write import write_reports

    try:
        data, paths = write_reports(journal_file(journal), out_dir)
    except JournalError as exc:
        _fail(str(exc))
        return
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        _fail(f"{journal}: a record holds a value of the wrong shape, so no report can be built ({type(exc).__name__}: {str(exc)[:200]})")
        return
    except OSError as exc:
        _fail(f"cannot write the reports: {exc.strerror or exc}")
        return
    out.print(f"{data.spec.name}: {data.verdict.status} - {data.verdict.reason}", highlight=False, soft_wrap=True, markup=False)
    for kind, path in paths.items():
        out.print(f"  {kind}: {path}", highlight=False, soft_wrap=True, markup=False)
    raise typer.Exit(data.verdict.exit_code)


@app.command("cleanup")
def cleanup(
    run_dir: Annotated[Path | None, typer.Argument(help="A run's directory (or its journal.jsonl): undo what its undo log says is left.")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="With the journal gone: undo what carries this run id (its tags, its notices).")] = None,
    all_stale: Annotated[bool, typer.Option("--all-stale", help="List runs on this machine whose owner process is gone; with --yes, clean each.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="With --all-stale: clean them, not just list them.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Clean even though the run's owner process still runs.")] = False,
    target: Target = "local",
    state_dir: StateDir = None,
    context: KubeContext = None,
    kubeconfig: KubeconfigFile = None,
    region: Region = None,
) -> None:
    """Undo what a run left behind (FIS experiments and templates, IAM roles, metadata notices, a provisioned cluster); exit 0 when nothing is left."""
    from chaos.errors import ChaosError
    from chaos.event_loop import run
    from chaos.run import registry as run_registry
    from chaos.undo.cleanup import Cleaned, Undone, cleanup_run_dir, cleanup_run_id

    if sum(x for x in (run_dir is not None, run_id is not None, all_stale)) != 1:
        _fail("give one of RUN_DIR, --run-id ID or --all-stale")
    if run_id is not None and not run_id.strip():
        _fail("--run-id: empty; give the run's id (its journal's first record, or the spotchaos:run-id tag on what it made)")

    def show(title: str, done: list[Undone]) -> bool:
        out.print(escape(title), highlight=False, soft_wrap=True)
        for u in done:
            mark = "[green]undone[/green]" if u.ok else "[red]FAILED[/red]"
            out.print(f"  {mark} {escape(u.step)}: {escape(u.detail)}", highlight=False, soft_wrap=True)
        return all(u.ok for u in done)

    def show_dir(cleaned: Cleaned) -> bool:
        ok = show(f"run {cleaned.run_id}: " + (f"{len(cleaned.done)} left behind" if cleaned.done else "nothing left to undo"), cleaned.done)
        for line in cleaned.unreadable:
            out.print(f"  [yellow]unread[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
        if cleaned.intent_unreadable:
            err.print(f"[red]part of the undo log could not be read[/red]: what it announced may still be in place; "
                      f"`spotchaos cleanup --run-id {escape(cleaned.run_id)}` finds what the run made by its marks", highlight=False, soft_wrap=True)
        return ok and cleaned.ok

    try:
        if run_dir is not None:
            ok = show_dir(run(cleanup_run_dir(run_dir, force=force)))
        elif run_id is not None:
            endpoints = _account_endpoints(target, state_dir, kubeconfig, context, region)
            ok = show(f"run {run_id} (found by its run id):", run(cleanup_run_id(run_id, endpoints)))
        else:
            stale = run_registry.stale()
            if not stale:
                out.print("no stale runs: every run this machine started has ended and undone its faults")
                return
            ok = True
            for entry in stale:
                gone = not entry.journal().is_file()
                if not yes:
                    where = "its journal is gone" if gone else escape(entry.report_dir)
                    out.print(f"{escape(entry.run_id)}  owner pid {entry.owner.pid} gone  {where}", highlight=False, soft_wrap=True)
                    continue
                if gone:  # nothing here can say where it ran: point at the tag search and stop listing it
                    out.print(f"run {escape(entry.run_id)}: its journal is gone; `spotchaos cleanup --run-id {escape(entry.run_id)}` "
                              "against its cluster finds what it left", highlight=False, soft_wrap=True)
                    run_registry.unregister(entry.run_id)
                    continue
                try:
                    ok = show_dir(run(cleanup_run_dir(Path(entry.report_dir)))) and ok
                except ChaosError as exc:
                    ok = False
                    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            if not yes:
                out.print("clean them with: spotchaos cleanup --all-stale --yes")
    except ChaosError as exc:
        _fail(str(exc))
    if not ok:
        raise typer.Exit(3)


@app.command("safety-lever")
def safety_lever(
    action: Annotated[str, typer.Argument(help="status, engage or release")] = "status",
    reason: Annotated[str | None, typer.Option("--reason", help="engage/release: why (FIS requires a reason; it is shown to everyone).")] = None,
    target: Target = "local",
    state_dir: StateDir = None,
    context: KubeContext = None,
    kubeconfig: KubeconfigFile = None,
    region: Region = None,
) -> None:
    """The account's FIS safety lever: engage stops every running FIS experiment in the Region and
    cancels new ones (a game day's big red button); release lets experiments run again."""
    from chaos import api_errors
    from chaos.aws.faults import AwsFaults
    from chaos.errors import ChaosError
    from chaos.target import Connection

    if action not in ("status", "engage", "release"):
        _fail(f"safety-lever takes status, engage or release, not '{action}'")
    if action != "status" and not reason:
        _fail(f"safety-lever {action} needs --reason: FIS records why the lever moved")
    try:
        endpoints = _account_endpoints(target, state_dir, kubeconfig, context, region)
        faults = AwsFaults(Connection(endpoints, 1.0, None).aws, endpoints.region)
        if action == "status":
            status, why = faults.safety_lever()
        else:
            status, why = faults.set_safety_lever("engaged" if action == "engage" else "disengaged", reason or "")
    except ChaosError as exc:
        _fail(str(exc))
        return
    except api_errors.sdk_errors() as exc:
        _fail(f"FIS refused: {api_errors.describe(exc)}")
        return
    out.print(f"safety lever ({endpoints.region}): {status}" + (f" - {why}" if why else ""), highlight=False, soft_wrap=True)
    if status == "unknown":
        raise typer.Exit(3)


def main() -> None:
    """Exit codes: a command's own; a usage error (unknown option, a value of the wrong type) is an
    input error like any other, 3: click's 2 would read as "aborted" for `run`."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # typer's click: usage errors and bad parameter values
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {escape(str(exc))}", highlight=False)
        sys.exit(3)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C outside a run's own handling (writing reports, say)
        err.print("aborted")
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last net: one line, the traceback only when asked for
        if os.environ.get("SPOTCHAOS_DEBUG"):
            raise
        err.print(f"[red]error:[/red] unexpected {type(exc).__name__}: {escape(str(exc).splitlines()[0][:300] if str(exc) else '')} "
                  "(set SPOTCHAOS_DEBUG=1 for the traceback)", highlight=False, soft_wrap=True)
        sys.exit(3)
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> None:
    """Exit with the command's code; a Ctrl-C while the process winds down (joining the threads
    that read the cluster) ends it at once with that code, not with a KeyboardInterrupt's."""
    def now(*_: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    signal.signal(signal.SIGINT, now)
    signal.signal(signal.SIGTERM, now)
    sys.exit(code)


if __name__ == "__main__":
    main()
