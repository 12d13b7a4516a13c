"""Scale of the local simulator: N nodes from an Auto Scaling group, 10 pods each (one TF Serving
pod, a real HTTP server, and nine workers that serve nothing), at speed 1.

Prints watch-event delivery lag (p50/p99/max) measured with marker writes while the
rollout churns and when it is idle, the rollout times, and the simulator's peak RSS.
Goals: 1,000 nodes / 10,000 pods with lag p99 < 500 ms and RSS < 2 GiB on 2 cores; 5,000 nodes /
50,000 pods with lag p99 <= 1 s and RSS <= 4 GiB.
No peer simulator runs here (kwok and kind need Docker), so the largest size also runs with
CPython's default garbage collector in place of the simulator's setting, side by side.

    .venv/bin/python bench/sim_scale.py            # 100 and 1,000 nodes, and 1,000 with default GC
    .venv/bin/python bench/sim_scale.py --nodes 100 --no-gc-peer
    .venv/bin/python bench/sim_scale.py --nodes 1000 --nodes 5000 --no-gc-peer   # the two sizes side by side
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluster.endpoints import Endpoints  # noqa: E402
from cluster.nodegroups import (  # noqa: E402
    SEED_4VCPU,
    SEED_8VCPU,
    NodeGroupSpec,
    aws_clients,
    create_node_group,
    ensure_network,
)
from cluster.waiting import wait_for  # noqa: E402

TIMINGS = {"instance_boot": 5, "node_ready": 2, "pod_start": 3, "node_monitor_grace": 40, "node_deletion": 5, "pod_gc": 40, "aws_poll": 2}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class Watch(threading.Thread):
    """A raw watch stream read line by line, as client-go reads it."""

    def __init__(self, url: str, on_line) -> None:
        super().__init__(daemon=True)
        self.url, self.on_line, self.stop = url, on_line, False
        self.count = 0

    def run(self) -> None:
        with requests.get(self.url, stream=True, timeout=(5, 600)) as resp:
            for line in resp.iter_lines(chunk_size=1 << 16):
                if self.stop:
                    return
                if line:
                    self.count += 1
                    self.on_line(line)


def run(nodes: int, pods_per_node: int, freeze_gc: bool = True) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="spotchaos-bench-"))
    cfg = tmp / "sim.yaml"
    span = nodes // 256 + 1  # second octets of node addresses: 256 nodes each
    cfg.write_text(yaml.safe_dump({"speed": 1, "timings": TIMINGS, "default_pool_spare": 1000, "freeze_gc_survivors": freeze_gc, "node_address_span": span}))
    log = open(tmp / "sim.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", "up", "--state-dir", str(tmp / "state"), "--config", str(cfg), "--log-format", "json"], stdout=log, stderr=subprocess.STDOUT)
    try:
        ep = wait_for(lambda: (tmp / "state" / "endpoints.json").exists() and Endpoints.read(tmp / "state"), 60, "simulator")
        base = ep.kube_api_url
        peak = [0.0]
        sampling = True

        def sample() -> None:
            while sampling:
                peak[0] = max(peak[0], rss_mib(ep.pid))
                time.sleep(0.2)

        threading.Thread(target=sample, daemon=True).start()
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        ec2, asg = aws_clients(ep.aws_endpoint_url, ep.region)
        subnets = ensure_network(ec2, "bench", ["us-east-1a", "us-east-1b", "us-east-1c"])
        half = nodes // 2
        t0 = time.monotonic()
        for name, types, count in (("spot-4vcpu", SEED_4VCPU, half), ("spot-8vcpu", SEED_8VCPU, nodes - half)):
            create_node_group(ec2, asg, NodeGroupSpec(name, "bench", types, desired=count, max_size=count, labels={"intent": "apps"}), subnets)
        t_asg = time.monotonic() - t0

        def ready_nodes() -> int:
            items = requests.get(f"{base}/api/v1/nodes", timeout=60).json()["items"]
            return sum(1 for n in items if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]))

        wait_for(lambda: ready_nodes() >= nodes, 600, f"{nodes} Ready nodes", interval=1.0)
        t_nodes = time.monotonic() - t0
        requests.post(f"{base}/api/v1/namespaces", json={"metadata": {"name": "bench"}}, timeout=10)
        requests.post(f"{base}/api/v1/namespaces/bench/configmaps", json={"metadata": {"name": "marker", "annotations": {"t": "0"}}}, timeout=10)
        rv = requests.get(f"{base}/api/v1/pods?limit=1", timeout=30).json()["metadata"]["resourceVersion"]

        running: set[str] = set()
        lags: dict[str, list[float]] = {"rollout": [], "idle": []}
        phase = ["rollout"]
        sent: dict[str, float] = {}

        ip_re = re.compile(rb'"podIP":"([0-9.]+)"')  # unique per pod: none is deleted during the rollout

        def on_pod(line: bytes) -> None:
            # a cheap scan, so that the client's own JSON parsing does not weigh on the figures
            if b'"phase":"Running"' in line:
                m = ip_re.search(line)
                if m:
                    running.add(m.group(1).decode())

        def on_marker(line: bytes) -> None:
            t = json.loads(line)["object"]["metadata"].get("annotations", {}).get("t")
            if t in sent:
                lags[phase[0]].append((time.monotonic() - sent.pop(t)) * 1000)

        pod_watch = Watch(f"{base}/api/v1/pods?watch=1&resourceVersion={rv}", on_pod)
        cm_watch = Watch(f"{base}/api/v1/namespaces/bench/configmaps?watch=1&resourceVersion={rv}", on_marker)
        pod_watch.start()
        cm_watch.start()
        marking = True

        def markers() -> None:
            i = 0
            session = requests.Session()
            while marking:
                i += 1
                key = str(i)
                sent[key] = time.monotonic()
                session.patch(f"{base}/api/v1/namespaces/bench/configmaps/marker", data=json.dumps({"metadata": {"annotations": {"t": key}}}), headers={"Content-Type": "application/merge-patch+json"}, timeout=30)
                time.sleep(0.05)

        threading.Thread(target=markers, daemon=True).start()
        total = nodes * pods_per_node
        # one TF Serving pod a node (a real HTTP server each, as the simulator runs them), the rest
        # workers that serve nothing (no container ports): the mix of a big cluster, and within
        # the open-files limit of one process (every serving pod and node is a listening socket)
        serving = min(nodes, total)
        deps = [("resnet", serving, {"name": "tfs", "image": "tensorflow/serving:2.14.1", "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}}),
                ("worker", total - serving, {"name": "worker", "image": "public.ecr.aws/docker/library/busybox:1.36", "command": ["sleep", "infinity"],
                                             "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}})]
        t1 = time.monotonic()
        for name, replicas, container in deps:
            if not replicas:
                continue
            dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                   "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": {
                       "nodeSelector": {"intent": "apps"}, "containers": [container]}}}}
            requests.post(f"{base}/apis/apps/v1/namespaces/bench/deployments", json=dep, timeout=30).raise_for_status()
        wait_for(lambda: len(running) >= total, 900, f"{total} Running pods (watch)", interval=0.5, describe=lambda: len(running))
        t_pods = time.monotonic() - t1
        phase[0] = "idle"
        wait_for(lambda: len(lags["idle"]) >= 100, 60, "100 idle markers", interval=0.2)
        marking = False
        t2 = time.monotonic()
        items = requests.get(f"{base}/api/v1/pods", timeout=120).json()["items"]
        t_list = time.monotonic() - t2
        assert len(items) >= total
        sampling = False
        return {
            "nodes": nodes, "pods": total, "serving_pods": serving, "gc": "freeze survivors" if freeze_gc else "CPython default", "asg_create_s": round(t_asg, 1), "nodes_ready_s": round(t_nodes, 1), "pods_running_s": round(t_pods, 1),
            "list_all_pods_s": round(t_list, 2), "pod_watch_events": pod_watch.count,
            "lag_rollout_ms": {"n": len(lags["rollout"]), "p50": round(pct(lags["rollout"], 50), 1), "p99": round(pct(lags["rollout"], 99), 1), "max": round(max(lags["rollout"] or [0]), 1)},
            "lag_idle_ms": {"n": len(lags["idle"]), "p50": round(pct(lags["idle"], 50), 1), "p99": round(pct(lags["idle"], 99), 1), "max": round(max(lags["idle"] or [0]), 1)},
            "peak_rss_mib": round(peak[0]),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            print("simulator did not stop within 30 s of SIGTERM", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, action="append", help="node counts to run (default 100 and 1000)")
    ap.add_argument("--pods-per-node", type=int, default=10)
    ap.add_argument("--no-gc-peer", action="store_true", help="skip the run of the largest size with CPython's default GC")
    args = ap.parse_args()
    sizes = sorted(args.nodes or [100, 1000])
    results = [run(n, args.pods_per_node) for n in sizes]
    if not args.no_gc_peer:
        results.append(run(sizes[-1], args.pods_per_node, freeze_gc=False))
    print(f"{'nodes':>6} {'pods':>6} {'gc':>16} {'nodes ready':>11} {'pods running':>12} {'lag p50/p99 rollout':>20} {'lag p50/p99 idle':>17} {'peak RSS':>9}")
    for r in results:
        lr, li = r["lag_rollout_ms"], r["lag_idle_ms"]
        print(f"{r['nodes']:>6} {r['pods']:>6} {r['gc']:>16} {r['nodes_ready_s']:>10}s {r['pods_running_s']:>11}s {lr['p50']:>8}/{lr['p99']:>6} ms "
              f"{li['p50']:>6}/{li['p99']:>6} ms {r['peak_rss_mib']:>6} MiB")
    for size, lag_ms, rss_mib, text in ((1000, 500, 2048, "1,000 nodes / 10,000 pods: lag p99 < 500 ms, RSS < 2 GiB"),
                                        (5000, 1000, 4096, "5,000 nodes / 50,000 pods: lag p99 <= 1 s, RSS <= 4 GiB")):
        goal = next((r for r in results if r["nodes"] == size and r["gc"] == "freeze survivors"), None)
        if goal:
            ok = goal["lag_rollout_ms"]["p99"] <= lag_ms and goal["peak_rss_mib"] <= rss_mib
            print(f"goal ({text}): {'MET' if ok else 'NOT MET'}")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
