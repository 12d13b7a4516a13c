"""Runs this machine has started, one small file each in a per-user directory, so that
`spotchaos cleanup --all-stale` finds runs whose owner died with faults still in place, and a new
run warns of a stale one on the same cluster.  A run removes its entry once nothing is left to undo."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chaos.identity import Owner
from cluster.endpoints import user_state_dir


def registry_dir() -> Path:
    """$SPOTCHAOS_RUNS_DIR, else $XDG_STATE_HOME/spotchaos/runs, else ~/.local/state/spotchaos/runs."""
    return user_state_dir("runs", "SPOTCHAOS_RUNS_DIR")


@dataclass(frozen=True)
class RunEntry:
    run_id: str
    report_dir: str
    owner: Owner
    cluster_key: str  # the same cluster: target, AWS endpoint or context, cluster name

    def journal(self) -> Path:
        return Path(self.report_dir) / "journal.jsonl"


def cluster_key(target: str, where: str | None, cluster: str | None) -> str:
    return f"{target}|{where or ''}|{cluster or ''}"


def register(entry: RunEntry, directory: Path | None = None) -> None:
    d = directory or registry_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{entry.run_id}.tmp"
        tmp.write_text(json.dumps({**asdict(entry), "owner": entry.owner.as_dict()}))
        tmp.replace(d / f"{entry.run_id}.json")
    except OSError:
        pass  # the registry is a convenience: a run without it still has its journal and tags


def unregister(run_id: str, directory: Path | None = None) -> None:
    (directory or registry_dir()).joinpath(f"{run_id}.json").unlink(missing_ok=True)


def _entry(data: Any) -> RunEntry | None:
    if not isinstance(data, dict):
        return None
    owner = Owner.from_dict(data.get("owner"))
    if owner is None or not all(isinstance(data.get(k), str) for k in ("run_id", "report_dir", "cluster_key")):
        return None
    return RunEntry(data["run_id"], data["report_dir"], owner, data["cluster_key"])


def entries(directory: Path | None = None) -> list[RunEntry]:
    d = directory or registry_dir()
    out = []
    for path in sorted(d.glob("*.json")) if d.is_dir() else []:
        try:
            entry = _entry(json.loads(path.read_text()))
        except (OSError, ValueError):
            entry = None
        if entry is not None:
            out.append(entry)
    return out


def stale(directory: Path | None = None) -> list[RunEntry]:
    """Registered runs whose owner process is gone (on this host)."""
    return [e for e in entries(directory) if e.owner.alive() is False]


def running_on(key: str, run_id: str, directory: Path | None = None) -> list[RunEntry]:
    """The other runs registered on the cluster `key` whose owner still runs (on this host) and
    that have not ended (a run that left something to undo stays registered after its verdict)."""
    return [e for e in entries(directory) if e.cluster_key == key and e.run_id != run_id and e.owner.alive() is True and not _ended(e)]


VERDICT_TAIL_BYTES = 65536  # a verdict record (the journal's last) with every hypothesis's detail fits


def _ended(entry: RunEntry) -> bool:
    """Its journal's last record is its verdict."""
    try:
        with open(entry.journal(), "rb") as f:
            f.seek(max(0, f.seek(0, 2) - VERDICT_TAIL_BYTES))
            last = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    except OSError:
        return False
    return b'"kind":"verdict"' in last
