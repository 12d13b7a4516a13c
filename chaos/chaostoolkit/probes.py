"""Chaos Toolkit probes: what a spotchaos run measured (read back from its directory, so that a
probe after the action judges the very run the action made), and whether a cluster is
Spot-ready as `spotchaos doctor` says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ProbeInputError(ValueError):
    """A probe's argument that names nothing it can read; the message says what to give."""


def run_directory(run: str | dict[str, Any], holding: str = "report.json") -> Path:
    """The directory of the run `run` names: a run's directory, a directory of runs (its newest
    run holding `holding`: what the action before this probe made), or what an action returned."""
    directory = Path(run["report_dir"] if isinstance(run, dict) else run)
    if not (directory / holding).is_file():
        runs = sorted((d for d in directory.glob("*/") if (d / holding).is_file()), key=lambda d: (d / holding).stat().st_mtime)
        directory = runs[-1] if runs else directory
    return directory


def report_of(run: str | dict[str, Any]) -> dict[str, Any]:
    """The report of `run` (see run_directory)."""
    directory = run_directory(run)
    try:
        found = json.loads((directory / "report.json").read_text())
    except (OSError, ValueError) as exc:
        raise ProbeInputError(f"run {directory}: no report.json to read ({exc}); give the report_dir a run_experiment action used") from None
    if not isinstance(found, dict):
        raise ProbeInputError(f"run {directory}: report.json is not a report")
    return found


def verdict(run: str | dict[str, Any]) -> str:
    """The run's verdict: passed, failed, aborted, error or inconclusive."""
    return str(report_of(run)["verdict"]["status"])


def hypothesis_held(run: str | dict[str, Any], name: str) -> bool:
    """Whether the run's hypothesis `name` held (False when breached or not judged)."""
    hypotheses = {h["name"]: h for h in report_of(run)["verdict"]["hypotheses"]}
    if name not in hypotheses:
        raise ProbeInputError(f"the run has no hypothesis {name!r}: it has {', '.join(sorted(hypotheses))}")
    return bool(hypotheses[name]["status"] == "pass")


def fault_in_place(run: str | dict[str, Any]) -> bool:
    """Whether the run `inject` started still has a fault in place: it injected, and has not rolled
    that back yet (a FIS experiment, a notice, an error it makes AWS return)."""
    from chaos.journal import JournalError, of, read_journal
    from chaos.journal.records import InjectedRecord
    from chaos.undo.log import Stage, pending

    directory = run_directory(run, "journal.jsonl")
    try:
        records = read_journal(directory / "journal.jsonl")
    except JournalError as exc:
        raise ProbeInputError(f"run {directory}: {exc}") from None
    return bool(of(records, InjectedRecord)) and bool(pending(records, Stage.FAULT))


def cluster_spot_ready(profile: str | None = None, manifests: list[str] | None = None, eksctl: str | None = None) -> bool:
    """Whether `spotchaos doctor` finds no error in a profile's cluster or in the cluster's files
    (manifests, an eksctl ClusterConfig)."""
    from chaos import doctor

    if (profile is None) == (not manifests and eksctl is None):
        raise ProbeInputError("cluster_spot_ready: give a profile, or the cluster's files (manifests, eksctl)")
    if profile is not None:
        objects, groups = doctor.from_profile(profile)
    else:
        objects, found = doctor.from_inputs([Path(m) for m in manifests or []], Path(eksctl) if eksctl else None)
        groups = found or []
    return not any(f.level == "error" for f in doctor.run(objects, groups))
