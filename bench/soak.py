"""A long-lived simulator stays as fast as a fresh one: one simulator (`spotchaos sim up`), then
the same experiment run on it again and again (`target.simulator.state_dir`), each run's request
p99, the simulator's worst loop lag, a DescribeInstances round trip and the simulator's RSS
printed as they come.  What a cluster keeps for a while (Events, one hour; terminated
instances, about one hour) grows until its first hour of cluster time is over and is then
replaced as fast as it is made, so the start is taken once that hour is behind (the first run
that ends after it); the end is the last runs.  p99 and RSS at the end must be within 20 % of
the start (p99: the median of three runs at each end, as one run's p99 is noisy).

    .venv/bin/python bench/soak.py                # 20 runs of single-spot-node-fis (about 17 minutes)
    .venv/bin/python bench/soak.py --runs 30

Needs root (unshare -n): the simulator and the runs get a network namespace of their own."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.20
SETTLED_CLUSTER_S = 3600.0  # the Event TTL and EC2's terminated-instance visibility


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _describe_ms(env: dict[str, str]) -> float:
    import boto3

    ec2 = boto3.client("ec2", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ec2.describe_instances()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _sim_env(state: Path) -> dict[str, str]:
    env = {}
    for line in (state / "env").read_text().splitlines():
        for word in shlex.split(line, comments=True):
            key, eq, value = word.partition("=")
            if eq:
                env[key] = value
    return env


def inner(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    state = work / "state"
    state.mkdir()
    experiment = yaml.safe_load((ROOT / "experiments" / f"{args.experiment}.yaml").read_text())
    experiment["target"]["simulator"] = {"state_dir": str(state)}
    speed = float(experiment["target"].get("speed", 10))
    (work / "experiment.yaml").write_text(yaml.safe_dump(experiment))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    sim = subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", "up", "--state-dir", str(state), "--speed", str(speed)],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(work / "sim.log").open("w"), env=env)
    deadline = time.monotonic() + 120
    while not (state / "env").exists() or not (state / "kubeconfig").exists():
        if sim.poll() is not None or time.monotonic() > deadline:
            print(f"the simulator did not start: see {work / 'sim.log'}")
            return 2
        time.sleep(0.5)
    aws_env = _sim_env(state)
    rows = []
    print(f"{'run':>4} {'verdict':>8} {'cluster h':>10} {'p99 ms':>8} {'sim lag ms':>11} {'DescribeInstances ms':>21} {'RSS MiB':>8}", flush=True)
    started = time.monotonic()
    try:
        for i in range(1, args.runs + 1):
            out = work / f"run-{i}"
            with (work / f"run-{i}.log").open("w") as log:
                subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(work / "experiment.yaml"), "--no-live", "--history", "off", "--report-dir", str(out)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=1800)
            if sim.poll() is not None or not (out / "report.json").exists():
                print(f"run {i} made no report ({'the simulator stopped' if sim.poll() is not None else 'see ' + str(work / f'run-{i}.log')})")
                break
            report = json.loads((out / "report.json").read_text())
            health = report.get("health", {}).get("summary", {})
            row = {"run": i, "verdict": report["verdict"]["status"], "cluster_h": (time.monotonic() - started) * speed / 3600,
                   "p99": report["traffic"]["latency_ms"]["p99"], "sim_lag": health.get("sim_lag_max_ms"),
                   "describe": _describe_ms(aws_env), "rss": _rss_mib(sim.pid)}
            rows.append(row)
            print(f"{i:>4} {row['verdict']:>8} {row['cluster_h']:>10.2f} {row['p99']:>8.1f} {row['sim_lag']!s:>11} {row['describe']:>21.1f} {row['rss']:>8.0f}", flush=True)
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    return summary(rows, speed)


def summary(rows: list[dict[str, object]], speed: float) -> int:
    settled = next((k for k, r in enumerate(rows) if float(r["cluster_h"]) * 3600 >= SETTLED_CLUSTER_S), None)  # type: ignore[arg-type]
    if settled is None or len(rows) - settled < 6:
        print(f"\ntoo few runs after the first hour of cluster time ({len(rows)} runs): give more --runs")
        return 2
    start, end = rows[settled:settled + 3], rows[-3:]

    def median(part: list[dict[str, object]], key: str) -> float:
        return statistics.median(float(r[key]) for r in part)  # type: ignore[arg-type]

    print(f"\nstart: runs {settled + 1}-{settled + 3} (the first hour of cluster time behind); end: runs {len(rows) - 2}-{len(rows)}")
    failed = False
    for key, label in (("p99", "request p99 ms"), ("describe", "DescribeInstances ms"), ("rss", "simulator RSS MiB")):
        a, b = median(start, key), median(end, key)
        change = (b - a) / a if a else 0.0
        gated = key in ("p99", "rss")
        verdict = ("ok" if change <= TOLERANCE else "DRIFT") if gated else "(shown)"
        failed |= gated and change > TOLERANCE
        print(f"  {label:22} start {a:8.1f}   end {b:8.1f}   change {change:+7.1%}   {verdict}")
    verdicts = {str(r["verdict"]) for r in rows}
    print(f"  verdicts: {', '.join(sorted(verdicts))}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--experiment", default="single-spot-node-fis")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return inner(args)
    command = " ".join(f"'{a}'" for a in [sys.executable, __file__, "--inner", "--runs", str(args.runs), "--experiment", args.experiment])
    return subprocess.run(["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {command}"]).returncode


if __name__ == "__main__":
    raise SystemExit(main())
