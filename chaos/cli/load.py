"""`load` and `load-shard`: the load test on its own, from this machine or as one shard of a load on the cluster."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from chaos.cli.app import app, err, fail, writable


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
        if json_out is not None and not writable(json_out):
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
        fail(str(exc))
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
    bucket: Annotated[float, typer.Option("--bucket", help="Real seconds per measured bucket (0 to 1; the harness sets it for a fast cluster clock).")] = 1.0,
) -> None:
    """One shard of a load spread over processes or pods: its share of the schedule, reported on
    stdout for the harness to merge (how `traffic.placement: cluster` runs as an Indexed Job)."""

    from chaos.clock import monotonic_at_wall, wall_seconds
    from chaos.host import event_loop
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
        if not 0 < bucket <= 1:
            raise ProfileError(f"--bucket {bucket:g}: give real seconds from 0 to 1 (leave it out for 1)")
        spec = LoadSpec(url, profile, body=body_for(body), timeout=parse_duration(timeout, "--timeout"), per_second_histograms=True, source=source,
                        bucket=bucket)
    except (ProfileError, LoadError) as exc:  # an input error, like every other (2 means aborted)
        fail(str(exc))
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
