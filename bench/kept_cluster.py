"""What a cluster kept for many runs saves: the same experiment run N times on a simulator of its
own each (as `spotchaos run` does by default, and the shipped suite), then N times on one
simulator kept running (`target.simulator.state_dir`, `cluster.teardown: false`: built once,
reused, each run waiting until the last one has recovered).  Prints, side by side, each run's
verdict, wall time, its provision and settle phases, and the figures that must not depend on the
way it ran (drained margin, replacement Ready, errors).

    .venv/bin/python bench/kept_cluster.py                                   # twin-shop-spot, 3 runs each way
    .venv/bin/python bench/kept_cluster.py --experiment single-spot-node-fis --runs 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import figures  # noqa: E402

from cluster.endpoints import Endpoints  # noqa: E402
from cluster.waiting import wait_for  # noqa: E402


def kept_spec(name: str, state_dir: Path) -> dict:
    """The shipped experiment, its twin's paths made absolute, run on the simulator in `state_dir`."""
    data = yaml.safe_load((ROOT / "experiments" / f"{name}.yaml").read_text())
    sources = (data.get("cluster") or {}).get("from")
    if sources:
        for key in ("eksctl", "behaviours"):
            if sources.get(key):
                sources[key] = str(ROOT / "experiments" / sources[key])
        for key in ("manifests", "kustomize"):
            sources[key] = [str(ROOT / "experiments" / p) for p in sources.get(key) or []]
    data["target"] = {**(data.get("target") or {}), "simulator": {"state_dir": str(state_dir)}}
    data.setdefault("cluster", {})["teardown"] = False
    return data


def run(path: Path, out: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(path), "--no-live", "--report-dir", str(out), "--history", "off"],
                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900, check=False)
    wall = time.monotonic() - t0
    phases: dict[str, float] = {}
    for line in (out / "journal.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("kind") == "phase":
            phases.setdefault(record["phase"], time.mktime(time.strptime(record["wall"][:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + record["wall"][20:23]))
    order = list(phases)

    def lasted(phase: str) -> float | None:
        if phase not in phases or order.index(phase) + 1 >= len(order):
            return None
        return round(phases[order[order.index(phase) + 1]] - phases[phase], 2)

    return {"wall s": round(wall, 1), "provision s": lasted("provision"), "settle s": lasted("settle"), **figures(out)}


KEYS = ("verdict", "wall s", "provision s", "settle s", "drained margin", "replacement", "errors")


def show(label: str, rows: list[dict[str, object]]) -> None:
    print(f"\n{label}")
    print("  run" + "".join(f"{k:>16}" for k in KEYS))
    for i, row in enumerate(rows):
        print(f"  {i + 1:>3}" + "".join(f"{str(row[k]):>16}" for k in KEYS), flush=True)
    total = sum(float(r["wall s"]) for r in rows)  # type: ignore[arg-type]
    provision = sum(float(r["provision s"] or 0) for r in rows)  # type: ignore[arg-type]
    print(f"  all: {total:.1f} s wall, {provision:.1f} s provisioning")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="twin-shop-spot", help="a shipped experiment's name")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kept-cluster-"))
    shipped = ROOT / "experiments" / f"{args.experiment}.yaml"
    fresh = [run(shipped, work / f"fresh-{i}") for i in range(args.runs)]
    show(f"{args.experiment}: a simulator of its own each run", fresh)

    state = work / "sim"
    log = open(work / "sim.log", "wb")  # noqa: SIM115 - the simulator's for its life
    sim = subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", "up", "--state-dir", str(state), "--speed", "auto"], cwd=ROOT, stdout=log, stderr=log)
    try:
        wait_for(lambda: (state / "endpoints.json").exists() and Endpoints.read(state), 60, "the kept simulator")
        path = work / "kept.yaml"
        path.write_text(yaml.safe_dump(kept_spec(args.experiment, state), sort_keys=False))
        kept = [run(path, work / f"kept-{i}") for i in range(args.runs)]
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    show(f"{args.experiment}: one simulator kept running (built by the first run, reused by the others)", kept)
    print(f"\nreports under {work}")


if __name__ == "__main__":
    main()
