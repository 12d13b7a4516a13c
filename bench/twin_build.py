"""How long the twin of a sizeable cluster takes to build: an eksctl config of 200 nodes (five
Spot groups over three zones) and 50 workloads (4 replicas each, http probes, a Service each,
one ALB Ingress), built into a simulator the bench starts (speed 10, as experiments run).

Prints the time to read the inputs, to launch the groups and apply the manifests (the build
step), and until every node and every replica is Ready; side by side, `kubectl apply -f` of the
same manifests into a second namespace of the same simulator, the peer a user would otherwise
type.  Goal (the twin issue): the build of 50 workloads / 200 nodes under 30 s on this machine.

    .venv/bin/python bench/twin_build.py                 # 200 nodes, 50 workloads
    .venv/bin/python bench/twin_build.py --nodes 40 --workloads 10
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluster.endpoints import Endpoints  # noqa: E402
from cluster.twin.build import build_twin  # noqa: E402
from cluster.twin.inputs import read_inputs  # noqa: E402
from cluster.waiting import wait_for  # noqa: E402

GROUPS = 5
TIMINGS = {"instance_boot": 20, "node_ready": 5, "pod_start": 3}


def eksctl_config(nodes: int) -> dict:
    per = nodes // GROUPS
    groups = [{"name": f"spot-{i}", "minSize": 0, "maxSize": per * 2, "desiredCapacity": per,
               "instancesDistribution": {"instanceTypes": ["m5.2xlarge", "m5a.2xlarge", "m6i.2xlarge"], "onDemandBaseCapacity": 0,
                                         "onDemandPercentageAboveBaseCapacity": 0}, "labels": {"role": "apps"}} for i in range(GROUPS)]
    return {"apiVersion": "eksctl.io/v1alpha5", "kind": "ClusterConfig", "metadata": {"name": "bench", "region": "us-east-1"},
            "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"], "nodeGroups": groups}


def manifests(workloads: int, namespace: str) -> list[dict]:
    docs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    for i in range(workloads):
        name = f"svc-{i:02d}"
        container = {"name": "app", "image": f"registry.example.com/bench/{name}:1", "ports": [{"name": "http", "containerPort": 8080}],
                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                     "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5}}
        docs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
                     "spec": {"replicas": 4, "selector": {"matchLabels": {"app": name}},
                              "template": {"metadata": {"labels": {"app": name}}, "spec": {"nodeSelector": {"role": "apps"}, "containers": [container]}}}})
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
                     "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}})
    docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": "front", "namespace": namespace, "annotations": {"alb.ingress.kubernetes.io/target-type": "ip"}},
                 "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                                                      "backend": {"service": {"name": "svc-00", "port": {"number": 80}}}}]}}]}})
    return docs


def ready_counts(core, namespace: str) -> tuple[int, int]:
    nodes = sum(1 for n in core.list_node().items if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []))
    pods = sum(1 for p in core.list_namespaced_pod(namespace).items if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []))
    return nodes, pods


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--workloads", type=int, default=50)
    args = ap.parse_args()
    from kubernetes import client, config

    tmp = Path(tempfile.mkdtemp(prefix="twin-bench-"))
    (tmp / "k8s").mkdir()
    (tmp / "cluster.yaml").write_text(yaml.safe_dump(eksctl_config(args.nodes)))
    (tmp / "k8s" / "app.yaml").write_text(yaml.safe_dump_all(manifests(args.workloads, "bench")))
    (tmp / "peer.yaml").write_text(yaml.safe_dump_all(manifests(args.workloads, "peer")))
    (tmp / "sim.yaml").write_text(yaml.safe_dump({"speed": 10, "timings": TIMINGS, "default_pool_spare": 1000}))
    log = (tmp / "sim.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "chaos.cli", "sim", "up", "--state-dir", str(tmp / "state"), "--config", str(tmp / "sim.yaml"),
                             "--log-format", "json"], stdout=log, stderr=subprocess.STDOUT)
    try:
        ep = wait_for(lambda: _endpoints(tmp / "state"), 60, "the simulator up")
        core = client.CoreV1Api(config.new_client_from_config(config_file=ep.kubeconfig, context=ep.kube_context))
        t0 = time.monotonic()
        sources = read_inputs(tmp / "cluster.yaml", [tmp / "k8s"])
        t_read = time.monotonic() - t0
        report = build_twin(ep, sources)
        t_build = time.monotonic() - t0
        replicas = 4 * args.workloads
        wait_for(lambda: ready_counts(core, "bench") >= (args.nodes, replicas) or None, 600, f"{args.nodes} nodes and {replicas} replicas Ready",
                 interval=0.5, describe=lambda: ready_counts(core, "bench"))
        t_ready = time.monotonic() - t0
        kubectl = shutil.which("kubectl")
        t_peer = t_peer_ready = float("nan")
        if kubectl:
            p0 = time.monotonic()
            subprocess.run([kubectl, "--kubeconfig", ep.kubeconfig, "--context", ep.kube_context, "apply", "-f", str(tmp / "peer.yaml")],
                           check=True, capture_output=True, timeout=300)
            t_peer = time.monotonic() - p0
            wait_for(lambda: ready_counts(core, "peer")[1] >= replicas or None, 600, "the peer's replicas Ready", interval=0.5)
            t_peer_ready = time.monotonic() - p0
        objects = sum(report.created.values())
        print(f"twin of {args.nodes} nodes ({len(report.groups)} groups), {args.workloads} workloads ({objects} objects), speed 10")
        print(f"{'':42}{'spotchaos twin build':>16}{'kubectl apply -f (peer)':>26}")
        print(f"{'read the inputs':42}{t_read:>15.2f}s{'-':>26}")
        print(f"{'build (groups launched, objects applied)':42}{t_build:>15.2f}s{t_peer:>25.2f}s")
        print(f"{'until every node and replica Ready':42}{t_ready:>15.2f}s{t_peer_ready:>25.2f}s")
        print(f"goal: build under 30 s -> {'met' if t_build < 30 else 'NOT met'}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _endpoints(state: Path) -> Endpoints | None:
    try:
        return Endpoints.read(state)
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    main()
