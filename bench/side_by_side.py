"""Verdicts that do not depend on the machine: one experiment alone, then the same experiment with
two more runs beside it (by default all three pinned to one core with taskset, each in its own
network namespace, as three jobs on a 1-vCPU runner would be), printing side by side for each run
its verdict, the key cluster-time figures (cordon, drained margin, deregistered margin,
replacement Ready), the effective clock speed and the worst loop lags it measured of itself.  The
cluster-time figures of the known-good runs must agree with the lone run's within 10 %, the
cordon within NTH's metadata poll (2 s, floored at 0.5 real seconds by the simulator: where in
that poll the notice lands is chance) and the one second to which the API server stamps a change.

    .venv/bin/python bench/side_by_side.py                         # alone, then 2 x single-spot-node-fis + bad-nth-cordon-only on core 0
    .venv/bin/python bench/side_by_side.py --cores 0,1 --rounds 2  # on both cores, twice

Needs root (unshare -n) and taskset (util-linux)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("cordon", "drained margin", "deregistered margin", "replacement")
# NTH looks at the metadata every 2 cluster seconds (its HTTP round floored at 0.5 real seconds, but
# started at once when the simulator's metadata shows a notice: docs/simulator.md "Known
# differences"): a cordon lands anywhere in the poll after the notice; and a harness that saw it
# late dates it by the API server's stamp, to the second, taking that second's end (never earlier
# than it was).  Two runs' cordons agree when they are within one poll and one stamp of each
# other, not within 10 % of a few seconds.
NTH_POLL_S = 2.0
STAMP_S = 1.0
CORDON_TOLERANCE_S = NTH_POLL_S + STAMP_S


def start(experiment: str, out: Path, cores: str | None) -> subprocess.Popen[bytes]:
    run = [sys.executable, "-m", "chaos.cli", "run", str(ROOT / "experiments" / f"{experiment}.yaml"), "--no-live", "--report-dir", str(out),
           "--history", "off"]
    pinned = ["taskset", "-c", cores, *run] if cores else run
    inner = "ip link set lo up && exec " + " ".join(f"'{a}'" for a in pinned)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.Popen(["unshare", "-n", "sh", "-c", inner], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def figures(out: Path) -> dict[str, object]:
    report = json.loads((out / "report.json").read_text())
    records = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines() if '"kind":"health"' in line]
    node = report["nodes"][0] if report["nodes"] else {}
    notice = node.get("notice")

    def since(key: str) -> float | None:
        return None if notice is None or node.get(key) is None else round(node[key] - notice, 1)

    def before_reclaim(key: str) -> float | None:
        end = node.get("reclaimed")
        return None if end is None or node.get(key) is None else round(end - node[key], 1)

    speeds = [r["speed"] for r in records if r.get("speed")]
    return {
        "verdict": report["verdict"]["status"],
        "cordon": since("cordon"), "drained margin": before_reclaim("drained"), "deregistered margin": before_reclaim("targets_gone"),
        "replacement": since("replacement_ready"),
        "speed": round(statistics.median(speeds), 2) if speeds else None,
        "slowest": round(min(speeds), 2) if speeds else None,
        "harness lag": max((r.get("harness_lag_ms") or 0 for r in records), default=None),
        "sim lag": max((r.get("sim_lag_ms") or 0 for r in records), default=None),
        "errors": f"{report['traffic']['errors']}/{report['traffic']['requests']}",
        "p99 ms": report["traffic"]["latency_ms"].get("p99"),
        "reason": report["verdict"]["reason"][:160],
    }


def run_round(work: Path, label: str, experiments: list[str], cores: str | None) -> list[tuple[str, dict[str, object]]]:
    procs = []
    t0 = time.monotonic()
    for i, name in enumerate(experiments):
        out = work / f"{label}-{i}-{name}"
        procs.append((name, out, start(name, out, cores)))
    for _, _, p in procs:
        p.wait(timeout=1800)
    print(f"  ({label}: {time.monotonic() - t0:.0f} s wall)", flush=True)
    return [(name, figures(out)) for name, out, _ in procs]


def show(label: str, results: list[tuple[str, dict[str, object]]]) -> None:
    keys = ("verdict", *FIGURES, "speed", "slowest", "harness lag", "sim lag", "errors", "p99 ms")
    print(f"\n{label}")
    print("  " + f"{'experiment':24}" + "".join(f"{k:>14}" for k in keys))
    for name, f in results:
        print("  " + f"{name:24}" + "".join(f"{str(f[k]):>14}" for k in keys))
        if f["verdict"] not in ("passed",):
            print(f"  {'':24}{f['reason']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", default="0", help="taskset's CPU list for the runs side by side (default 0: one core)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-alone", action="store_true", help="skip the lone run")
    ap.add_argument("--keep", type=Path, help="keep every run's report directory under this directory")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="side-by-side-"))
    work.mkdir(parents=True, exist_ok=True)
    known_good, known_bad = "single-spot-node-fis", "bad-nth-cordon-only"
    try:
        alone = None
        if not args.no_alone:
            alone = run_round(work, "alone", [known_good], None)
            show("alone (no pinning)", alone)
        tally = {"known-good runs": 0, "passed": 0, "inconclusive": 0, "failed (exit 1)": 0, "known-bad passed": 0, "figures agree": 0}
        for r in range(args.rounds):
            results = run_round(work, f"round{r}", [known_good, known_good, known_bad], args.cores)
            show(f"three side by side on cores {args.cores}, round {r + 1}", results)
            for name, f in results:
                if name == known_good:
                    tally["known-good runs"] += 1
                    tally["passed"] += f["verdict"] == "passed"
                    tally["inconclusive"] += f["verdict"] == "inconclusive"
                    tally["failed (exit 1)"] += f["verdict"] == "failed"
                elif f["verdict"] == "passed":
                    tally["known-bad passed"] += 1
                if alone and name == known_good:
                    base = alone[0][1]
                    off = {k: round(100 * (float(f[k]) - float(base[k])) / float(base[k]), 1) for k in FIGURES[1:]
                           if f[k] is not None and base[k] not in (None, 0)}
                    cordon = None if f["cordon"] is None or base["cordon"] is None else round(float(f["cordon"]) - float(base["cordon"]), 1)
                    agree = all(abs(v) <= 10 for v in off.values()) and cordon is not None and abs(cordon) <= CORDON_TOLERANCE_S
                    tally["figures agree"] += agree
                    print(f"  {name}: vs alone, % difference: {off}; cordon {'n/a' if cordon is None else f'{cordon:+}'} s (within NTH's {NTH_POLL_S:g} s poll and the API's {STAMP_S:g} s stamp: "
                          f"{'yes' if cordon is not None and abs(cordon) <= CORDON_TOLERANCE_S else 'no'}); agree: {'yes' if agree else 'NO'}")
        print(f"\n{tally}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
