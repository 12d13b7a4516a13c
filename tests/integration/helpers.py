"""Test helpers that drive the simulator only through boto3 and the Kubernetes client."""

from __future__ import annotations

import urllib.request
from typing import Any

from cluster.nodegroups import NodeGroupSpec, create_node_group, ensure_network
from cluster.waiting import wait_for

CLUSTER = "TensorFlowServingCluster"
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def node_group(sim: Any, name: str, types: tuple[str, ...], desired: int, *, spot: bool = True, labels: dict[str, str] | None = None,
               tags: dict[str, str] | None = None) -> str:
    ec2, asg = sim.aws("ec2"), sim.aws("autoscaling")
    subnets = ensure_network(ec2, CLUSTER, AZS)
    spec = NodeGroupSpec(name, CLUSTER, types, desired=desired, max_size=max(desired, 15), spot=spot, labels={"nodegroup-under-test": name, **(labels or {})},
                         extra_tags=tags or {})
    return create_node_group(ec2, asg, spec, subnets)


def ready_nodes(core: Any, group: str) -> list[Any]:
    nodes = core.list_node(label_selector=f"nodegroup-under-test={group}").items
    return [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]


def wait_ready_nodes(core: Any, group: str, count: int, timeout: float = 30) -> list[Any]:
    return wait_for(lambda: (lambda ns: ns if len(ns) == count else None)(ready_nodes(core, group)), timeout, f"{count} Ready nodes of {group}",
                    describe=lambda: [n.metadata.name for n in ready_nodes(core, group)])


def deployment(name: str, replicas: int, group: str, *, cpu: str = "500m", prestop_sleep: int | None = None, extra_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "nginx:1.27", "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}
    if prestop_sleep is not None:
        container["lifecycle"] = {"preStop": {"exec": {"command": ["/bin/sh", "-c", f"sleep {prestop_sleep}"]}}}
    spec = {"nodeSelector": {"nodegroup-under-test": group}, "containers": [container]}
    spec.update(extra_spec or {})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}},
    }


def running_pods(core: Any, ns: str, app: str) -> list[Any]:
    pods = core.list_namespaced_pod(ns, label_selector=f"app={app}").items
    return [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]


def wait_running(core: Any, ns: str, app: str, count: int, timeout: float = 30) -> list[Any]:
    return wait_for(lambda: (lambda ps: ps if len(ps) == count else None)(running_pods(core, ns, app)), timeout, f"{count} running pods of {app}",
                    describe=lambda: [(p.metadata.name, p.status.phase) for p in core.list_namespaced_pod(ns, label_selector=f"app={app}").items])


def namespace(core: Any, name: str) -> str:
    core.create_namespace({"metadata": {"name": name}})
    return name


def predict_ok(url: str) -> bool:
    """One small prediction POSTed to `url` answered 200."""
    request = urllib.request.Request(url, data=b'{"instances": [[1.0, 2.0]]}', method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


def ingress_address(net: Any, ns: str, name: str) -> str | None:
    """http://ADDRESS:PORT of an Ingress's load balancer, as its status gives it (None before)."""
    ing = net.read_namespaced_ingress(name, ns)
    entries = (ing.status and ing.status.load_balancer and ing.status.load_balancer.ingress) or []
    if not entries:
        return None
    port = entries[0].ports[0].port if entries[0].ports else 80
    return f"http://{entries[0].ip}:{port}"
