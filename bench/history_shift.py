"""Scheduled runs, condensed: RUNS recorded runs of one short experiment on the simulator (this
script starts it, as an account that outlives the runs), the hardened profile for the first
CHANGE_AT runs, then the same with a longer preStop hook (75 s instead of 25, grace 100 s), which
moves the drain later while every hypothesis still passes.  Prints each run's verdict and the
regressions `spotchaos run` reported, then writes the trend report (`spotchaos trend --html
--markdown`), whose charts show the shift.  Expect: all runs passed, the first run after the
change flagged (`drained-before-reclaim` margin, the `drained` milestone), none before it.

    .venv/bin/python bench/history_shift.py                  # 30 runs, the change after 15
    .venv/bin/python bench/history_shift.py --runs 8 --change-at 5
    .venv/bin/python bench/history_shift.py --postgres        # the same, the history on PostgreSQL
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_sim  # noqa: E402 - after the path is set
from tests.e2e.test_experiments import fresh_machine_env  # noqa: E402

LONGER_PRESTOP = {"serving": {"prestop_seconds": 75, "grace_seconds": 100}}


def experiment(directory: Path, state_dir: Path, changed: bool) -> Path:
    data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
    data["name"] = "history-shift"
    data["target"] = {"simulator": {"state_dir": str(state_dir)}}
    data["traffic"].update({"rate": 50, "warmup": "15s", "tail": "10s"})
    if changed:
        data["cluster"]["overrides"] = LONGER_PRESTOP
    path = directory / ("changed.yaml" if changed else "before.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--change-at", type=int, default=15, help="runs before the change")
    ap.add_argument("--out", type=Path, default=None, help="where the history and the trend report go (default: a temporary directory)")
    ap.add_argument("--postgres", action="store_true", help="record into a PostgreSQL server this script starts (Debian's binaries)")
    args = ap.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="history-shift-"))
    work.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if args.postgres:
            from tests.postgres import fresh_database, postgres_server

            history = fresh_database(stack.enter_context(postgres_server()))
        else:
            history = f"sqlite:///{work / 'history.sqlite'}"
        print(f"run history: {history}", flush=True)
        shift(args.runs, args.change_at, work, history)


def shift(runs: int, change_at: int, work: Path, history: str) -> None:
    env = {**fresh_machine_env(), "SPOTCHAOS_HISTORY": history}
    sim = start_sim(work / "sim", speed=10.0, node_address_octet=115, imds={"port": 1355})
    flagged_at: list[int] = []
    try:
        for k in range(runs):
            changed = k >= change_at
            proc = subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(experiment(work, sim.state_dir, changed)),
                                   "--report-dir", str(work / f"run-{k:02d}"), "--no-live"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
            verdict = (proc.stdout.strip().splitlines() or ["?"])[0].split(" ", 1)[0]
            regressed = [re.sub(r"\s+", " ", line.split("regressed:", 1)[1]).strip() for line in proc.stderr.splitlines() if "regressed:" in line]
            if regressed:
                flagged_at.append(k)
            print(f"{k:2} {'longer preStop' if changed else 'hardened      '} {verdict:8} exit {proc.returncode}"
                  + ("".join(f"\n     regressed {r}" for r in regressed)), flush=True)
    finally:
        sim.stop()
    trend = subprocess.run([sys.executable, "-m", "chaos.cli", "trend", "history-shift", "--history", history,
                            "--html", str(work / "trend.html"), "--markdown", str(work / "trend.md")], capture_output=True, text=True, env=env, cwd=ROOT)
    print(trend.stdout)
    print(f"runs flagged as regressed when they ran: {flagged_at} (the change came before run {change_at})")
    print(f"the same runs judged again from the store with today's rule: {replay(history)}")
    print(f"trend report: {work / 'trend.html'}")


def replay(history: str) -> list[int]:
    """Each recorded run compared again with its baseline, as `spotchaos run` compares it."""
    from chaos.history.regression import milestone_regressions, regressions
    from chaos.history.store import baseline_ids, hypotheses_of, milestones_of, open_store, runs

    engine = open_store(history)
    flagged = []
    for k, run in enumerate(reversed(runs(engine, "history-shift", limit=10_000))):
        ids = baseline_ids(engine, run, 10)
        found = regressions(hypotheses_of(engine, run["run_id"]), [hypotheses_of(engine, i) for i in ids])
        found += milestone_regressions(milestones_of(engine, run["run_id"]), [milestones_of(engine, i) for i in ids])
        if found:
            flagged.append(k)
    return flagged


if __name__ == "__main__":
    main()
