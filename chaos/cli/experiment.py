"""An experiment's commands: `validate`, `schema`, `plan`, `run`, `report`, `cleanup` and `safety-lever`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from chaos.cli.app import (
    ExperimentFile,
    HistoryUrl,
    KubeconfigFile,
    KubeContext,
    LogFormat,
    Region,
    StateDir,
    Target,
    app,
    err,
    fail,
    out,
)
from chaos.cli.inputs import account_endpoints, load_spec
from chaos.cli.output import OutputFormat, document, emit, machine
from chaos.logs import configure


@app.command("validate")
def validate_experiment(file: ExperimentFile, output: OutputFormat = None) -> None:
    """Check an experiment file; exit 3 with the field and the fix when it is wrong."""
    if machine(output):
        from chaos.errors import SpecError
        from chaos.spec import load_experiment

        try:
            checked = load_experiment(file)
        except SpecError as exc:
            emit(document("Validation", file=str(file), valid=False, error=str(exc)), str(output))
            raise typer.Exit(3) from None
        emit(document("Validation", file=str(file), valid=True, name=checked.name, injections=len(checked.injections),
                      hypotheses=len(checked.hypotheses)), str(output))
        return
    spec = load_spec(file)
    out.print(f"{file}: valid experiment '{spec.name}' ({len(spec.injections)} injections, {len(spec.hypotheses)} hypotheses)", highlight=False, soft_wrap=True, markup=False)  # type: ignore[attr-defined]


@app.command("schema")
def experiment_schema(
    write: Annotated[Path | None, typer.Option("--write", metavar="DOCS", help="Write DOCS/experiment.schema.json and refresh the fault and "
                                                                                 "check tables of DOCS/experiment.md instead of printing the schema.")] = None,
) -> None:
    """Print the experiment JSON Schema (docs/experiment.schema.json), or write it and the reference tables derived from the fault and check modules."""
    from chaos.spec import schema_text

    if write is None:
        sys.stdout.write(schema_text())
        return
    from chaos.reference import with_tables

    reference = write / "experiment.md"
    try:
        text = reference.read_text()
        (write / "experiment.schema.json").write_text(schema_text())
        reference.write_text(with_tables(text))
    except (OSError, ValueError) as exc:
        err.print(f"schema --write: {exc}", markup=False)
        raise typer.Exit(2) from None
    out.print(f"wrote {write / 'experiment.schema.json'} and the tables of {reference}", markup=False)


@app.command("plan")
def plan_experiment(file: ExperimentFile, target: Annotated[str | None, typer.Option("--target", help="local or eks")] = None,
                    output: OutputFormat = None) -> None:
    """Show what an experiment would do, without touching any cluster (`run --dry-run` also picks the nodes)."""
    from chaos.cli.plan_text import plan_lines

    spec = load_spec(file, target)
    if machine(output):  # the steps as the table prints them, and the experiment with every default filled in
        emit(document("Plan", experiment=spec.name, steps=[line for line in plan_lines(spec) if line],  # type: ignore[attr-defined, arg-type]
                      spec=spec.model_dump(mode="json")), str(output))  # type: ignore[attr-defined]
        return
    for line in plan_lines(spec):  # type: ignore[arg-type]
        out.print(line, highlight=False, soft_wrap=True, markup=False)


@app.command("run")
def run_experiment(
    file: ExperimentFile,
    target: Annotated[str | None, typer.Option("--target", help="local (default: a simulator started for the run) or eks")] = None,
    speed: Annotated[float | None, typer.Option("--speed", help="local: cluster time runs this many times faster than real time")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Connect, provision and pick the nodes; inject nothing.")] = False,
    injection: Annotated[str | None, typer.Option("--injection", help="Run this injection alone: its name, its label (injection-N) or its index in injections (0 is the first).")] = None,
    report_dir: Annotated[Path | None, typer.Option("--report-dir", help="Where the journal and reports go (default: spotchaos-runs/NAME-TIME).")] = None,
    live: Annotated[bool, typer.Option("--live/--no-live", help="Live view on the terminal.")] = True,
    history: HistoryUrl = None,
    fail_on_regression: Annotated[bool, typer.Option("--fail-on-regression", help="Exit 4 when the run passed but a measurement moved toward its bound beyond the tolerance, compared with the last passing runs.")] = False,
    upload: Annotated[str | None, typer.Option("--upload", help="Put the journal and reports in S3 at s3://BUCKET/PREFIX/RUN_ID/ (boto3 as the environment configures it).")] = None,
    notify: Annotated[str | None, typer.Option("--notify", help="POST a summary to this webhook (Slack, Teams or any JSON receiver) when the run did not pass or regressed.")] = None,
    notify_always: Annotated[bool, typer.Option("--notify-always", help="With --notify: post after every run, passed ones too.")] = False,
    metrics: Annotated[list[str] | None, typer.Option("--metrics", help="Push the run's metrics: prometheus://HOST:PORT/JOB (a Pushgateway) or "
                                                                        "cloudwatch://NAMESPACE (boto3 as the environment configures it). Repeatable.")] = None,
    log_format: LogFormat = "console",
) -> None:
    """Run an experiment; exit 0 passed, 1 failed, 2 aborted, 3 error, 4 passed but regressed (with --fail-on-regression), 5 inconclusive (breached only while the machine was starved)."""
    configure(log_format, level="warning" if log_format == "console" else "info")
    from chaos.aws.upload_destination import parse_s3_url
    from chaos.delivery.metrics import parse_metrics_url
    from chaos.delivery.webhook import check_url
    from chaos.errors import ChaosError
    from chaos.history.store import check_store
    from chaos.run.results import Destinations
    from chaos.terminal.drive import execute

    if notify_always and not notify:
        fail("--notify-always needs --notify URL")
    try:  # checked before anything runs: a bad destination must not cost a run
        to = Destinations(history, parse_s3_url(upload) if upload else None, check_url(notify) if notify else None, notify_always,
                          tuple(parse_metrics_url(m) for m in metrics or []))
        check_store(history)
    except ChaosError as exc:
        fail(str(exc))
        return
    spec = load_spec(file, target, speed, injection)
    code = execute(spec, report_dir, dry_run, live and err.is_terminal, out, err, fail_on_regression, to)  # type: ignore[arg-type]
    raise typer.Exit(code)


@app.command("report")
def rebuild_report(
    journal: Annotated[Path, typer.Argument(help="A run's directory or its journal.jsonl (also one a killed run left behind).")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write the reports here (default: next to the journal).")] = None,
    output: OutputFormat = None,
) -> None:
    """Rebuild the Markdown, HTML, JSON and JUnit reports from a journal; exit code as the verdict."""
    from chaos.journal import JournalError, journal_file
    from chaos.report.write import write_reports

    try:
        data, paths = write_reports(journal_file(journal), out_dir)
    except JournalError as exc:
        fail(str(exc))
        return
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        fail(f"{journal}: a record holds a value of the wrong shape, so no report can be built ({type(exc).__name__}: {str(exc)[:200]})")
        return
    except OSError as exc:
        fail(f"cannot write the reports: {exc.strerror or exc}")
        return
    if machine(output):  # the JSON report itself, and where each report went
        import json

        emit(document("Report", files={kind: str(path) for kind, path in paths.items()}, **json.loads(Path(paths["json"]).read_text())), str(output))
        raise typer.Exit(data.verdict.exit_code)
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
    output: OutputFormat = None,
) -> None:
    """Undo what a run left behind (FIS experiments and templates, IAM roles, metadata notices, a provisioned cluster); exit 0 when nothing is left."""
    from chaos import live_runs as run_registry
    from chaos.errors import ChaosError
    from chaos.host.event_loop import run
    from chaos.undo.cleanup import Cleaned, Undone, cleanup_run_dir, cleanup_run_id

    if sum(x for x in (run_dir is not None, run_id is not None, all_stale)) != 1:
        fail("give one of RUN_DIR, --run-id ID or --all-stale")
    if run_id is not None and not run_id.strip():
        fail("--run-id: empty; give the run's id (its journal's first record, or the spotchaos:run-id tag on what it made)")

    quiet = machine(output)  # -o json|yaml: one CleanupReport document at the end, nothing else on stdout
    runs: list[dict[str, object]] = []
    stale_runs: list[dict[str, object]] = []

    def show(title: str, done: list[Undone], run_name: str, **more: object) -> bool:
        runs.append({"run_id": run_name, "undone": [{"step": u.step, "detail": u.detail, "ok": u.ok} for u in done], **more})
        if not quiet:
            out.print(escape(title), highlight=False, soft_wrap=True)
            for u in done:
                mark = "[green]undone[/green]" if u.ok else "[red]FAILED[/red]"
                out.print(f"  {mark} {escape(u.step)}: {escape(u.detail)}", highlight=False, soft_wrap=True)
        return all(u.ok for u in done)

    def show_dir(cleaned: Cleaned) -> bool:
        ok = show(f"run {cleaned.run_id}: " + (f"{len(cleaned.done)} left behind" if cleaned.done else "nothing left to undo"), cleaned.done,
                  cleaned.run_id, unreadable=list(cleaned.unreadable), undo_log_unreadable=cleaned.intent_unreadable)
        for line in cleaned.unreadable if not quiet else []:
            out.print(f"  [yellow]unread[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
        if cleaned.intent_unreadable:
            err.print(f"[red]part of the undo log could not be read[/red]: what it announced may still be in place; "
                      f"`spotchaos cleanup --run-id {escape(cleaned.run_id)}` finds what the run made by its marks", highlight=False, soft_wrap=True)
        return ok and cleaned.ok

    try:
        if run_dir is not None:
            ok = show_dir(run(cleanup_run_dir(run_dir, force=force)))
        elif run_id is not None:
            endpoints = account_endpoints(target, state_dir, kubeconfig, context, region)
            ok = show(f"run {run_id} (found by its run id):", run(cleanup_run_id(run_id, endpoints)), run_id)
        else:
            stale = run_registry.stale()
            if not stale and not quiet:
                out.print("no stale runs: every run this machine started has ended and undone its faults")
                return
            ok = True
            for entry in stale:
                gone = not entry.journal().is_file()
                stale_runs.append({"run_id": entry.run_id, "owner_pid": entry.owner.pid, "report_dir": entry.report_dir, "journal_gone": gone})
                if quiet and not yes:
                    continue
                if not yes:
                    where = "its journal is gone" if gone else escape(entry.report_dir)
                    out.print(f"{escape(entry.run_id)}  owner pid {entry.owner.pid} gone  {where}", highlight=False, soft_wrap=True)
                    continue
                if gone:  # nothing here can say where it ran: point at the tag search and stop listing it
                    if not quiet:
                        out.print(f"run {escape(entry.run_id)}: its journal is gone; `spotchaos cleanup --run-id {escape(entry.run_id)}` "
                                  "against its cluster finds what it left", highlight=False, soft_wrap=True)
                    run_registry.unregister(entry.run_id)
                    continue
                try:
                    ok = show_dir(run(cleanup_run_dir(Path(entry.report_dir)))) and ok
                except ChaosError as exc:
                    ok = False
                    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            if not yes and not quiet:
                out.print("clean them with: spotchaos cleanup --all-stale --yes")
    except ChaosError as exc:
        fail(str(exc))
    if quiet:
        emit(document("CleanupReport", ok=ok, runs=runs, stale=stale_runs), str(output))
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
    output: OutputFormat = None,
) -> None:
    """The account's FIS safety lever: engage stops every running FIS experiment in the Region and
    cancels new ones (a game day's big red button); release lets experiments run again."""
    from chaos import api_errors
    from chaos.aws.faults import AwsFaults
    from chaos.errors import ChaosError
    from chaos.target import Connection

    if action not in ("status", "engage", "release"):
        fail(f"safety-lever takes status, engage or release, not '{action}'")
    if action != "status" and not reason:
        fail(f"safety-lever {action} needs --reason: FIS records why the lever moved")
    try:
        endpoints = account_endpoints(target, state_dir, kubeconfig, context, region)
        faults = AwsFaults(Connection(endpoints, 1.0, None).aws, endpoints.region)
        if action == "status":
            status, why = faults.safety_lever()
        else:
            status, why = faults.set_safety_lever("engaged" if action == "engage" else "disengaged", reason or "")
    except ChaosError as exc:
        fail(str(exc))
        return
    except api_errors.sdk_errors() as exc:
        fail(f"FIS refused: {api_errors.describe(exc)}")
        return
    if machine(output):
        emit(document("SafetyLever", region=endpoints.region, state=status, reason=why or None), str(output))
    else:
        out.print(f"safety lever ({endpoints.region}): {status}" + (f" - {why}" if why else ""), highlight=False, soft_wrap=True)
    if status == "unknown":
        raise typer.Exit(3)
