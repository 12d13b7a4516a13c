"""Load generators side by side, one core each, against the same loopback target.

The target is nginx (one worker, pinned to CPU 1, answering 200 "ok"); each generator runs
pinned to CPU 0.  wrk and locust (FastHttpUser, no wait) are closed-loop, so their figure is
their maximum throughput; spotchaos is open-loop, so its figure is the highest arrival rate it
held (every request of the schedule sent, the rate within 1%, generator lateness p99 <= 1 ms, no
errors), found by bisection: doubling from --start until a rate is not held, then halving the
interval until it is within 2%.  The ratio to wrk, measured in the same run, is printed (the
goal: at least 25,000 req/s per core held).  Then spotchaos's latency percentiles are checked
against a target with a fixed 20 ms delay.

Needs: nginx and wrk (Debian: apt-get install nginx-light wrk), locust (pip install locust).
Run: python bench/load_bench.py
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from cluster.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
DELAY_SERVER = ROOT / "tests" / "support" / "fixed_delay_server.py"
GOAL_VS_LOCUST = 2.0

NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok"; }} }}
}}
"""

LOCUSTFILE = """from locust import FastHttpUser, constant, task

class Hammer(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def pinned(cpu: int, argv: list[str]) -> list[str]:
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []) + argv


def run_wrk(url: str, seconds: int) -> float:
    out = subprocess.run(pinned(0, ["wrk", "-t1", "-c64", f"-d{seconds}s", url]), capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("Requests/sec:"))
    return float(line.split()[1])


def run_locust(url: str, seconds: int, work: Path, users: int) -> float:
    f = work / "hammer.py"
    f.write_text(LOCUSTFILE)
    prefix = work / f"locust-{users}"
    subprocess.run(
        pinned(0, [sys.executable, "-m", "locust", "-f", str(f), "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                   "--host", url.rstrip("/"), "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR"]),  # a trailing / makes locust send nothing
        capture_output=True, text=True, timeout=seconds + 60,
    )
    with open(f"{prefix}_stats.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return float(row["Requests/s"])


def run_ours(url: str, rps: float, seconds: float, work: Path, body: str = "none") -> dict:
    out = work / f"ours-{int(rps)}.json"
    subprocess.run(
        pinned(0, [sys.executable, "-m", "chaos.cli", "load", url, "--rps", str(rps), "--duration", f"{seconds}s", "--body", body, "--quiet", "--json", str(out)]),
        capture_output=True, text=True, check=True, timeout=seconds + 120,
    )
    return json.loads(out.read_text())


LATENESS_GOAL_MS = 1.0
RATE_GOAL = 25_000
BISECT_TOLERANCE = 0.02
MAX_RATE = 400_000


def held(summary: dict) -> bool:
    return bool(summary["rate_held"]) and summary["errors"] == 0 and summary["generator_lateness_ms"]["p99"] <= LATENESS_GOAL_MS


def ours_max(url: str, seconds: float, work: Path, start: int) -> tuple[float, list[tuple[int, dict]]]:
    """The highest rate held, by bisection between a rate held and one not held."""
    tried: list[tuple[int, dict]] = []

    def attempt(rate: int) -> bool:
        s = run_ours(url, rate, seconds, work)
        tried.append((rate, s))
        return held(s)

    lo, hi = 0, start
    while hi <= MAX_RATE and attempt(hi):  # double until a rate is not held
        lo, hi = hi, hi * 2
    if lo == 0:  # not even the start: come down
        while hi > 100 and not attempt(hi // 2):
            hi //= 2
        lo = hi // 2
    while hi - lo > max(1, lo * BISECT_TOLERANCE):
        mid = (lo + hi) // 2
        if attempt(mid):
            lo = mid
        else:
            hi = mid
    best = max((s["achieved_rps"] for rate, s in tried if rate == lo), default=0.0)
    return best, tried


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=5, help="length of each measurement")
    p.add_argument("--start", type=int, default=10000, help="first open-loop rate tried (doubled until not held, then bisected)")
    args = p.parse_args()
    missing = [t for t in ("nginx", "wrk") if not shutil.which(t) and not Path(f"/usr/sbin/{t}").exists()]
    if missing:
        print(f"missing: {', '.join(missing)} (Debian: apt-get install nginx-light wrk)", file=sys.stderr)
        return 2
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port))
        target = subprocess.Popen(pinned(1, [nginx, "-c", str(work / "nginx.conf"), "-p", str(work)]))
        delay_port = free_port()
        delayed = subprocess.Popen(pinned(1, [sys.executable, str(DELAY_SERVER), str(delay_port), "0.020"]), stdout=subprocess.DEVNULL)
        try:
            wait_for(lambda: listening(port) and listening(delay_port), 15, "targets listening")
            url = f"http://127.0.0.1:{port}/"
            wrk = run_wrk(url, args.seconds)
            locust = max(run_locust(url, args.seconds, work, users) for users in (10, 100))  # its best of two user counts
            ours, tried = ours_max(url, args.seconds, work, args.start)
            lat = run_ours(f"http://127.0.0.1:{delay_port}/", 500, args.seconds, work, body="tensor")
        finally:
            target.terminate()
            delayed.terminate()
            target.wait(10)
            delayed.wait(10)

    print("generator            one core, req/s   kind")
    print(f"wrk                  {wrk:15,.0f}   closed loop (max throughput)")
    print(f"locust FastHttpUser  {locust:15,.0f}   closed loop (max throughput)")
    print(f"spotchaos load       {ours:15,.0f}   open loop (highest rate held: within 1%, lateness p99 <= {LATENESS_GOAL_MS:g} ms, bisected to 2%)")
    for rate, s in sorted(tried, key=lambda t: t[0]):
        print(f"   tried {rate:>6} rps: achieved {s['achieved_rps']:>9,.1f}, lateness p99 {s['generator_lateness_ms']['p99']} ms, errors {s['errors']}, held={held(s)}")
    print(f"ratio spotchaos/locust: {ours / locust:.2f}x   spotchaos/wrk: {ours / wrk:.3f}x")
    lm = lat["latency_ms"]
    print(f"latency vs fixed 20 ms target at 500 rps: p50 {lm['p50']} ms, p99 {lm['p99']} ms, max {lm['max']} ms (error p50 {lm['p50'] - 20:+.2f} ms, p99 {lm['p99'] - 20:+.2f} ms)")
    met = ours >= RATE_GOAL and ours >= GOAL_VS_LOCUST * locust and abs(lm["p50"] - 20) <= 2 and abs(lm["p99"] - 20) <= 2
    print(f"goal (>= {RATE_GOAL:,} req/s per core held with lateness p99 <= {LATENESS_GOAL_MS:g} ms, >= {GOAL_VS_LOCUST:g}x locust, "
          f"percentiles within 2 ms): {'MET' if met else 'NOT MET'}")
    print(json.dumps({"wrk_rps": wrk, "locust_rps": locust, "spotchaos_rps": ours, "ratio_vs_wrk": round(ours / wrk, 3),
                      "ratio_vs_locust": round(ours / locust, 2), "latency_check_ms": lm}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
