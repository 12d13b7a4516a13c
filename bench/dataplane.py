"""What the simulated data plane costs: a simulator with a TF Serving service behind its ALB (enough
replicas that the model's own capacity, replicas x concurrency / service time, is not the limit),
the load generator in its own process on the other core, and for each rate the simulator's CPU
seconds per request, the requests per second one core of simulator serves at that cost, and the
latency and errors the generator measured.  The path per request: the ALB (a reverse proxy), to the pod
kube-proxy chose for the ALB's connection to the node port, the modelled service time, and back
(docs/simulator.md, "The data plane").

    .venv/bin/python bench/dataplane.py                      # 200, 400, 800 and 1600 req/s, 15 s each
    .venv/bin/python bench/dataplane.py --rates 400 --seconds 30

Needs taskset (util-linux) to pin the simulator and the generator to a core each."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import SimProcess  # noqa: E402 - after the path is set
from tests.integration.helpers import predict_ok  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def kubectl(kubeconfig: Path, *args: str) -> str:
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=30).stdout.strip()


def until(what: str, probe, seconds: float = 180) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="200,400,800,1600")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--replicas", type=int, default=12)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dataplane-"))
    state = work / "state"
    sim = subprocess.Popen(["taskset", "-c", "1", sys.executable, "-m", "chaos.cli", "sim", "up", "--speed", "10", "--demo-nodes", "4",
                            "--demo-replicas", str(args.replicas), "--state-dir", str(state), "--log-format", "json"],
                           cwd=ROOT, stdout=(work / "sim.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        until("the simulator", lambda: (state / "endpoints.json").exists())
        pid = json.loads((state / "endpoints.json").read_text())["pid"]
        kubeconfig = state / "kubeconfig"
        address = until("the ALB", lambda: kubectl(kubeconfig, "get", "ingress", "resnet", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"))
        port = kubectl(kubeconfig, "get", "ingress", "resnet", "-o", "jsonpath={.status.loadBalancer.ingress[0].ports[0].port}")
        url = f"http://{address}{':' + port if port else ''}/v1/models/resnet:predict"
        until("every replica Ready", lambda: kubectl(kubeconfig, "get", "deployment", "resnet", "-o", "jsonpath={.status.readyReplicas}") == str(args.replicas))
        until("the service to answer", lambda: predict_ok(url))
        idle_from = cpu_seconds(pid)
        time.sleep(5.0)
        idle = (cpu_seconds(pid) - idle_from) / 5.0
        print(f"simulator idle (controllers, probes, clock): {idle:.3f} cores")
        print(f"{'rate':>8} {'sent':>8} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'sim cores':>10} {'us/request':>11} {'req/s per core':>15} {'generator cores':>16}")
        for rate in (float(r) for r in args.rates.split(",")):
            out = work / f"load-{rate:g}.json"
            before = cpu_seconds(pid)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "chaos.cli", "load", url, "--rps", f"{rate:g}", "--duration", f"{args.seconds:g}s",
                            "--body", "image", "--json", str(out), "--quiet"], cwd=ROOT, capture_output=True, timeout=args.seconds * 4 + 60)
            busy = (cpu_seconds(pid) - before) / args.seconds - idle
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            generator = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) / args.seconds
            summary = json.loads(out.read_text())
            sent = int(summary.get("dispatched") or 0)
            errors = sent - int((summary.get("outcomes") or {}).get("ok", 0))
            latency = summary.get("latency_ms") or {}
            per_request_us = busy * args.seconds / sent * 1e6 if sent else float("nan")
            print(f"{rate:8g} {sent:8d} {errors:7d} {latency.get('p50') or 0:8.1f} {latency.get('p99') or 0:8.1f} {busy:10.3f} {per_request_us:11.0f} "
                  f"{1e6 / per_request_us if per_request_us == per_request_us and per_request_us > 0 else 0:15.0f} {generator:16.3f}", flush=True)
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):  # killed then, by stop()
            SimProcess(sim, state, None, work / "sim.log").stop()  # type: ignore[arg-type]
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
