"""`spotchaos sim`: start, show and stop the local simulator."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from chaos import __version__
from chaos.cli.app import LogFormat, StateDir, _pid_choice, app, err, fail, out, sim_app
from chaos.cli.output import OutputFormat, document, emit, machine
from chaos.logs import configure
from cluster.endpoints import Endpoints, default_state_dir, is_recorded_simulator, signallable_pid


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


def _speed_choice(value: str | None) -> float | str | None:
    from cluster.clock_speed import parse_speed

    if value is None:
        return None
    try:
        return parse_speed(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r}: {exc}") from None


@sim_app.command("up")
def sim_up(
    speed: Annotated[str | None, typer.Option(help="Cluster time runs this many times faster than real time; auto: fast at start, "
                                                   "and each run sets the speed it needs.", callback=_speed_choice)] = None,
    state_dir: StateDir = None,
    config: Annotated[Path | None, typer.Option("--config", help="Simulator config YAML (timings, capacity pools).")] = None,
    demo_nodes: Annotated[int, typer.Option("--demo-nodes", help="Create a Spot node group with this many nodes once up.")] = 0,
    demo_replicas: Annotated[int, typer.Option("--demo-replicas", help="With --demo-nodes: a TF Serving service of this many replicas behind an ALB (0: none).")] = 5,
    exit_with: Annotated[int | None, typer.Option("--exit-with", help="Stop when the process with this pid exits (the harness passes its own).", callback=_pid_choice)] = None,
    eksctl: Annotated[Path | None, typer.Option("--from-eksctl", help="Your cluster's eksctl ClusterConfig: its node groups are launched once up.")] = None,
    manifests: Annotated[list[Path] | None, typer.Option("--manifests", "-f", help="Your manifests (files or directories), applied once up. Repeatable.")] = None,
    kustomize: Annotated[list[Path] | None, typer.Option("--kustomize", "-k", help="Kustomize directories, built with `kubectl kustomize` and applied once up. Repeatable.")] = None,
    behaviours: Annotated[Path | None, typer.Option("--behaviours", help="How your containers behave in the simulator (start, service time, errors, SIGTERM): docs/twin.md.")] = None,
    log_format: LogFormat = "console",
) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM."""
    configure(log_format)
    from cluster.sim import ConfigError, load_config
    from cluster.sim.runner import serve

    negative = [name for name, value in (("--demo-nodes", demo_nodes), ("--demo-replicas", demo_replicas)) if value < 0]
    if negative:
        fail(f"{' and '.join(negative)} must be 0 or more")
    if behaviours is not None and not (manifests or kustomize):
        fail("--behaviours says how the workloads of your manifests behave: give them with -f or -k")
    twin = None
    if eksctl or manifests or kustomize:
        from cluster.twin.behaviours import with_behaviours
        from cluster.twin.inputs import TwinInputError, read_inputs

        try:
            twin = with_behaviours(read_inputs(eksctl, manifests or [], kustomize or []), behaviours)  # read before starting: a bad file is one line, not a half-built cluster
        except TwinInputError as exc:
            fail(str(exc))
    try:
        cfg = load_config(config, speed=speed)
    except ConfigError as exc:
        fail(str(exc))
    directory = state_dir or default_state_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--state-dir {directory}: cannot create it: {exc.strerror or exc}")
    if not os.access(directory, os.W_OK):
        fail(f"--state-dir {directory}: not writable; give another --state-dir")
    running = _running(directory)
    if running is not None:
        fail(f"a simulator is already running from {directory} (pid {running.pid}); stop it with `spotchaos sim down` or use another --state-dir")

    def ready(ep: Endpoints) -> None:
        print(json.dumps(_public(ep), indent=2))
        print("\n".join(["# In another shell:"] + _env_lines(ep) + ["kubectl get nodes", "aws ec2 describe-instances --query 'Reservations[].Instances[].[InstanceId,InstanceType,State.Name]'"]))
        (directory / "env").write_text("\n".join(_env_lines(ep)) + "\n")
        if twin is not None:
            import threading

            threading.Thread(target=_build_twin, args=(ep, twin), daemon=True).start()  # through this very process's APIs: off the event loop
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

    from chaos.host.event_loop import run

    try:
        failures = run(serve(cfg, directory, ready, exit_with=exit_with))
    except ConfigError as exc:  # an address range another simulator holds
        fail(str(exc))
    if failures:
        fail(f"simulator tasks failed: {failures}", 2)


@sim_app.command("forkserver", hidden=True)
def sim_forkserver(
    socket_path: Annotated[Path, typer.Argument(help="The Unix socket to answer on.")],
    exit_with: Annotated[int, typer.Option("--exit-with", help="Stop when the process with this pid exits.", callback=_pid_choice)],
) -> None:
    """Fork simulators from one process that imported them once (the pytest plugin starts one)."""
    from chaos.cli import sim_forkserver

    _import_the_simulator()
    sim_forkserver.serve(socket_path, exit_with, _sim_up_in_fork)


def _import_the_simulator() -> None:
    """What `sim up` imports, all of it, before the fork server forks: its forks share it."""
    import cluster.twin.behaviours
    import cluster.twin.build
    import cluster.twin.inputs  # noqa: F401 - imported for the forks to share
    from cluster.sim.runner import prepare_for_forks

    prepare_for_forks()


def _sim_up_in_fork(argv: list[str]) -> int:
    """`spotchaos sim ARGV` in a process the fork server forked."""
    from chaos.cli import main

    sys.argv = ["spotchaos", "sim", *argv]
    main()
    return 0


def _build_twin(ep: Endpoints, sources: Any) -> None:
    """Your cluster in the simulator: node groups launched, manifests applied, what could not be modelled listed."""
    from cluster.twin.build import build_twin

    try:
        report = build_twin(ep, sources)
    except Exception as exc:  # noqa: BLE001 - the simulator runs on; the build says why it stopped
        print(f"# the twin's build stopped: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
        return
    print("\n".join(f"# twin: {line}" for line in report.lines()) or "# twin: nothing to build", flush=True)


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
def sim_status(state_dir: StateDir = None, output: OutputFormat = None) -> None:
    """Show the running simulator's endpoints (exit 1 when none runs)."""
    directory = state_dir or default_state_dir()
    ep = _running(directory)
    if ep is None:
        err.print(f"no simulator running from {directory}; start one with `spotchaos sim up`")
        raise typer.Exit(1)
    if machine(output):
        emit(document("SimulatorStatus", **_public(ep)), str(output))
        return
    print(json.dumps(_public(ep), indent=2))  # the endpoints as JSON, as before -o existed


@sim_app.command("down")
def sim_down(state_dir: StateDir = None) -> None:
    """Stop the simulator running from the state directory."""
    directory = state_dir or default_state_dir()
    try:
        Endpoints.read(directory)
    except ValueError as exc:  # a forged or damaged file: never signal what it names
        fail(f"{exc}; not signalling anything (remove the file if no simulator runs from {directory})")
    except (OSError, TypeError):
        pass
    ep = _running(directory)
    if ep is None or not signallable_pid(ep.pid):
        err.print(f"no simulator running from {directory}")
        return
    assert ep.pid is not None
    os.kill(ep.pid, signal.SIGTERM)
    out.print(f"sent SIGTERM to simulator pid {ep.pid}")
