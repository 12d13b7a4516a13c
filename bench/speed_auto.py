"""`speed: auto` against the speed every run had before (10), side by side: the README's first
experiment (single-spot-node-fis) run N times each way, alternating, one run at a time.  Prints
each run's wall time (the whole `spotchaos run`, simulator start to reports) and verdict, then the
median of each figure both ways and how far apart they are.

The large cluster-time figures (drained and deregistered margins, replacement Ready) must agree
within 10 %.  The small ones are set by pollers whose phase is chance at any speed: the cordon by
NTH's 2 s metadata poll, replicas restored by the replacement pod's readiness probe (10 s
period): they must agree within one poll (plus the one-second stamp of the API server).

    .venv/bin/python bench/speed_auto.py            # 3 runs each way
    .venv/bin/python bench/speed_auto.py --runs 5"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ROOT / "experiments" / "single-spot-node-fis.yaml"
LARGE = ("drained-before-reclaim", "targets-deregistered-before-reclaim", "replacement-ready-within")
SMALL = {"cordoned-within": 2.0 + 1.0, "replicas-restored-within": 10.0 + 1.0}  # one poll + one stamp
SHOWN = (*LARGE, *SMALL, "p99-latency")


def run_once(spec: Path, out: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(spec), "--no-live", "--report-dir", str(out), "--history", "off"],
                          cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - start
    report = json.loads((out / "report.json").read_text())
    values = {h["name"]: h.get("value") for h in report["verdict"]["hypotheses"]}
    return {"wall": wall, "exit": proc.returncode, "verdict": report["verdict"]["status"], "speed": report.get("speed"), **values}


def median(runs: list[dict[str, object]], key: str) -> float | None:
    values = [float(r[key]) for r in runs if isinstance(r.get(key), int | float)]  # type: ignore[arg-type]
    return statistics.median(values) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="spotchaos-speed-"))
    data = yaml.safe_load(EXPERIMENT.read_text())
    specs = {}
    for name, speed in (("10", 10), ("auto", "auto")):
        data["target"]["speed"] = speed
        specs[name] = tmp / f"speed-{name}.yaml"
        specs[name].write_text(yaml.safe_dump(data))
    runs: dict[str, list[dict[str, object]]] = {"10": [], "auto": []}
    for i in range(args.runs):
        for name in ("10", "auto"):
            result = run_once(specs[name], tmp / f"{name}-{i}")
            runs[name].append(result)
            print(f"speed {name:>4} run {i + 1}: {result['wall']:5.1f} s wall, {result['verdict']} (measured at {result['speed']}x)", flush=True)
    print()
    print(f"{'':38}{'speed 10':>12}{'speed auto':>12}{'apart':>10}")
    ok = all(r["verdict"] == "passed" for rs in runs.values() for r in rs)
    wall10, wall_auto = median(runs["10"], "wall"), median(runs["auto"], "wall")
    print(f"{'wall time, median (s)':38}{wall10:12.1f}{wall_auto:12.1f}{'':>10}")
    for key in SHOWN:
        a, b = median(runs["10"], key), median(runs["auto"], key)
        if a is None or b is None:
            print(f"{key:38}{'-':>12}{'-':>12}")
            continue
        apart = abs(b - a)
        if key in LARGE:
            share = apart / abs(a) if a else 0.0
            within = share <= 0.10
            note = f"{share:9.1%}"
        elif key in SMALL:
            within = apart <= SMALL[key]
            note = f"{apart:8.1f}s"
        else:
            within, note = True, f"{apart:8.1f} "
        ok &= within
        print(f"{key:38}{a:12.1f}{b:12.1f}{note:>10}{'' if within else '  <- too far apart'}")
    print()
    print("every run passed and the figures agree" if ok else "NOT ALIKE: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
