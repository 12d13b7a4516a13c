"""Server-side Table output for `kubectl get` (meta.k8s.io/v1 Table), computed on the sim clock (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cluster.sim.clock import parse_time
from cluster.sim.kube.resources import ResourceType

Obj = dict[str, Any]


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration: 45s, 5m10s, 3h, 2d4h, ..."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 48:
        return f"{h}h{m % 60}m" if h < 8 and m % 60 else f"{h}h"
    d = h // 24
    return f"{d}d{h % 24}h" if d < 8 and h % 24 else f"{d}d"


def _age(obj: Obj, now: float) -> str:
    ts = obj["metadata"].get("creationTimestamp")
    return human_duration(now - parse_time(ts)) if ts else "<unknown>"


def _node_status(node: Obj) -> str:
    ready = next((c for c in node.get("status", {}).get("conditions") or [] if c["type"] == "Ready"), None)
    state = "Ready" if ready and ready["status"] == "True" else "NotReady" if ready and ready["status"] == "False" else "Unknown"
    if node.get("spec", {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    return state


def _node_roles(node: Obj) -> str:
    roles = [k.split("/", 1)[1] for k in (node["metadata"].get("labels") or {}) if k.startswith("node-role.kubernetes.io/")]
    return ",".join(roles) or "<none>"


def _pod_status(pod: Obj) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    st = pod.get("status", {})
    for cs in st.get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return waiting.get("reason", "Waiting")
    return st.get("reason") or st.get("phase", "Pending")


def _pod_ready(pod: Obj) -> str:
    total = len(pod.get("spec", {}).get("containers") or [])
    ready = sum(1 for cs in pod.get("status", {}).get("containerStatuses") or [] if cs.get("ready"))
    return f"{ready}/{total}"


def _restarts(pod: Obj) -> int:
    return sum(int(cs.get("restartCount", 0)) for cs in pod.get("status", {}).get("containerStatuses") or [])


def _lb(svc: Obj) -> str:
    ing = (svc.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
    return ",".join(i.get("hostname") or i.get("ip", "") for i in ing) or ("<pending>" if svc["spec"].get("type") == "LoadBalancer" else "<none>")


def _ports(svc: Obj) -> str:
    out = []
    for p in svc.get("spec", {}).get("ports") or []:
        s = str(p.get("port"))
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(f"{s}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _condition(obj: Obj, kind: str) -> str:
    """A CRD printer column's `.status.conditions[?(@.type=="Ready")].status`: empty when absent."""
    return next((str(c.get("status", "")) for c in obj.get("status", {}).get("conditions") or [] if c.get("type") == kind), "")


def _address(node: Obj, kind: str) -> str:
    return next((a["address"] for a in node.get("status", {}).get("addresses") or [] if a.get("type") == kind), "<none>")


def _node_info(node: Obj, key: str) -> str:
    return str(node.get("status", {}).get("nodeInfo", {}).get(key, "<unknown>"))


def _readiness_gates(pod: Obj) -> str:
    gates = pod.get("spec", {}).get("readinessGates") or []
    if not gates:
        return "<none>"
    true = {c.get("type") for c in pod.get("status", {}).get("conditions") or [] if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"


def _first_three(items: list[str]) -> str:
    """kubectl's listWithMoreString: three, then "+ N more...", or <unset>."""
    shown = ",".join(items[:3])
    if len(items) > 3:
        return f"{shown} + {len(items) - 3} more..."
    return shown or "<unset>"


def hpa_targets(specs: list[Obj], statuses: list[Obj]) -> str:
    """printers.go formatHPAMetrics (kubernetes pkg/printers/internalversion): a Resource metric as
    "cpu: 40%/50%" (<unknown> before a measurement, <auto> without a target), others as
    "current/target"; at most two, then "+ N more..."."""
    if not specs:
        return "<none>"
    out = []
    for i, spec in enumerate(specs):
        resource = spec.get("resource") if spec.get("type") == "Resource" else None
        if resource is None:  # Pods, Object, External: the simulator measures none of them
            source = spec.get(str(spec.get("type", "")).lower().replace("containerresource", "containerResource")) or {}
            target = source.get("target") or {}
            value = target.get("averageValue", target.get("value"))
            out.append(f"<unknown>/{value}" if value is not None else "<unknown type>")
            continue
        target, status = resource.get("target") or {}, (statuses[i].get("resource") or {}) if i < len(statuses) else {}
        current = (status.get("current") or {})
        if target.get("averageValue") is not None:
            out.append(f"{resource.get('name')}: {current.get('averageValue', '<unknown>')}/{target['averageValue']}")
        else:
            now = f"{current['averageUtilization']}%" if current.get("averageUtilization") is not None else "<unknown>"
            want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
            out.append(f"{resource.get('name')}: {now}/{want}")
    shown = ", ".join(out[:2])
    return f"{shown} + {len(out) - 2} more..." if len(out) > 2 else shown


Column = tuple[str, str, int, Callable[[Obj, float], Any]]

_COLUMNS: dict[str, list[Column]] = {
    "Node": [
        ("Status", "string", 0, lambda o, n: _node_status(o)),
        ("Roles", "string", 0, lambda o, n: _node_roles(o)),
        ("Age", "string", 0, _age),
        ("Version", "string", 0, lambda o, n: o.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")),
        ("Internal-IP", "string", 1, lambda o, n: _address(o, "InternalIP")),
        ("External-IP", "string", 1, lambda o, n: _address(o, "ExternalIP")),
        ("OS-Image", "string", 1, lambda o, n: _node_info(o, "osImage")),
        ("Kernel-Version", "string", 1, lambda o, n: _node_info(o, "kernelVersion")),
        ("Container-Runtime", "string", 1, lambda o, n: _node_info(o, "containerRuntimeVersion")),
    ],
    "Pod": [
        ("Ready", "string", 0, lambda o, n: _pod_ready(o)),
        ("Status", "string", 0, lambda o, n: _pod_status(o)),
        ("Restarts", "integer", 0, lambda o, n: _restarts(o)),
        ("Age", "string", 0, _age),
        ("IP", "string", 1, lambda o, n: o.get("status", {}).get("podIP") or "<none>"),
        ("Node", "string", 1, lambda o, n: o.get("spec", {}).get("nodeName") or "<none>"),
        ("Nominated Node", "string", 1, lambda o, n: o.get("status", {}).get("nominatedNodeName") or "<none>"),
        ("Readiness Gates", "string", 1, lambda o, n: _readiness_gates(o)),
    ],
    "HorizontalPodAutoscaler": [
        ("Reference", "string", 0, lambda o, n: f"{o['spec'].get('scaleTargetRef', {}).get('kind', '')}/{o['spec'].get('scaleTargetRef', {}).get('name', '')}"),
        ("Targets", "string", 0, lambda o, n: hpa_targets(o.get("spec", {}).get("metrics") or [], o.get("status", {}).get("currentMetrics") or [])),
        ("MinPods", "string", 0, lambda o, n: str(o["spec"]["minReplicas"]) if o["spec"].get("minReplicas") is not None else "<unset>"),
        ("MaxPods", "integer", 0, lambda o, n: o["spec"].get("maxReplicas", 0)),
        ("Replicas", "integer", 0, lambda o, n: o.get("status", {}).get("currentReplicas", 0)),
        ("Age", "string", 0, _age),
    ],
    "EndpointSlice": [
        ("AddressType", "string", 0, lambda o, n: o.get("addressType", "")),
        ("Ports", "string", 0, lambda o, n: _first_three([str(p["port"]) if p.get("port") is not None else p.get("name") or "*" for p in o.get("ports") or []])),
        ("Endpoints", "string", 0, lambda o, n: _first_three([a for e in o.get("endpoints") or [] for a in e.get("addresses") or []])),
        ("Age", "string", 0, _age),
    ],
    "Deployment": [
        ("Ready", "string", 0, lambda o, n: f"{o.get('status', {}).get('readyReplicas', 0)}/{o['spec'].get('replicas', 0)}"),
        ("Up-to-date", "integer", 0, lambda o, n: o.get("status", {}).get("updatedReplicas", 0)),
        ("Available", "integer", 0, lambda o, n: o.get("status", {}).get("availableReplicas", 0)),
        ("Age", "string", 0, _age),
    ],
    "ReplicaSet": [
        ("Desired", "integer", 0, lambda o, n: o["spec"].get("replicas", 0)),
        ("Current", "integer", 0, lambda o, n: o.get("status", {}).get("replicas", 0)),
        ("Ready", "integer", 0, lambda o, n: o.get("status", {}).get("readyReplicas", 0)),
        ("Age", "string", 0, _age),
    ],
    "StatefulSet": [
        ("Ready", "string", 0, lambda o, n: f"{o.get('status', {}).get('readyReplicas', 0)}/{o['spec'].get('replicas', 0)}"),
        ("Age", "string", 0, _age),
    ],
    "DaemonSet": [
        ("Desired", "integer", 0, lambda o, n: o.get("status", {}).get("desiredNumberScheduled", 0)),
        ("Current", "integer", 0, lambda o, n: o.get("status", {}).get("currentNumberScheduled", 0)),
        ("Ready", "integer", 0, lambda o, n: o.get("status", {}).get("numberReady", 0)),
        ("Age", "string", 0, _age),
    ],
    "Service": [
        ("Type", "string", 0, lambda o, n: o["spec"].get("type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda o, n: o["spec"].get("clusterIP", "")),
        ("External-IP", "string", 0, lambda o, n: _lb(o)),
        ("Port(s)", "string", 0, lambda o, n: _ports(o)),
        ("Age", "string", 0, _age),
    ],
    "Event": [
        ("Last Seen", "string", 0, lambda o, n: human_duration(n - parse_time(o["lastTimestamp"])) if o.get("lastTimestamp") else ""),
        ("Type", "string", 0, lambda o, n: o.get("type", "")),
        ("Reason", "string", 0, lambda o, n: o.get("reason", "")),
        ("Object", "string", 0, lambda o, n: f"{o['involvedObject'].get('kind', '').lower()}/{o['involvedObject'].get('name', '')}"),
        ("Message", "string", 0, lambda o, n: o.get("message", "")),
    ],
    "PodDisruptionBudget": [
        ("Min Available", "string", 0, lambda o, n: str(o["spec"].get("minAvailable", "N/A"))),
        ("Max Unavailable", "string", 0, lambda o, n: str(o["spec"].get("maxUnavailable", "N/A"))),
        ("Allowed Disruptions", "integer", 0, lambda o, n: o.get("status", {}).get("disruptionsAllowed", 0)),
        ("Age", "string", 0, _age),
    ],
    "Ingress": [
        ("Class", "string", 0, lambda o, n: o["spec"].get("ingressClassName", "<none>")),
        ("Hosts", "string", 0, lambda o, n: ",".join(r.get("host", "*") for r in o["spec"].get("rules") or []) or "*"),
        ("Address", "string", 0, lambda o, n: ",".join(i.get("hostname") or i.get("ip", "") for i in (o.get("status", {}).get("loadBalancer") or {}).get("ingress") or [])),
        ("Ports", "string", 0, lambda o, n: "80"),
        ("Age", "string", 0, _age),
    ],
    # Karpenter's CRDs: their additionalPrinterColumns (karpenter-provider-aws pkg/apis/crds)
    "NodePool": [
        ("NodeClass", "string", 0, lambda o, n: ((o.get("spec", {}).get("template") or {}).get("spec") or {}).get("nodeClassRef", {}).get("name", "")),
        ("Nodes", "string", 0, lambda o, n: str(o.get("status", {}).get("nodes", ""))),
        ("Ready", "string", 0, lambda o, n: _condition(o, "Ready")),
        ("Age", "string", 0, _age),
        ("Weight", "string", 1, lambda o, n: str(o.get("spec", {}).get("weight", ""))),
        ("CPU", "string", 1, lambda o, n: (o.get("status", {}).get("resources") or {}).get("cpu", "")),
        ("Memory", "string", 1, lambda o, n: (o.get("status", {}).get("resources") or {}).get("memory", "")),
    ],
    "NodeClaim": [
        ("Type", "string", 0, lambda o, n: (o["metadata"].get("labels") or {}).get("node.kubernetes.io/instance-type", "")),
        ("Capacity", "string", 0, lambda o, n: (o["metadata"].get("labels") or {}).get("karpenter.sh/capacity-type", "")),
        ("Zone", "string", 0, lambda o, n: (o["metadata"].get("labels") or {}).get("topology.kubernetes.io/zone", "")),
        ("Node", "string", 0, lambda o, n: o.get("status", {}).get("nodeName", "")),
        ("Ready", "string", 0, lambda o, n: _condition(o, "Ready")),
        ("Age", "string", 0, _age),
        ("ImageID", "string", 1, lambda o, n: o.get("status", {}).get("imageID", "")),
        ("ID", "string", 1, lambda o, n: o.get("status", {}).get("providerID", "")),
        ("NodePool", "string", 1, lambda o, n: (o["metadata"].get("labels") or {}).get("karpenter.sh/nodepool", "")),
        ("NodeClass", "string", 1, lambda o, n: o.get("spec", {}).get("nodeClassRef", {}).get("name", "")),
        ("Drifted", "string", 1, lambda o, n: _condition(o, "Drifted")),
    ],
    "EC2NodeClass": [
        ("Ready", "string", 0, lambda o, n: _condition(o, "Ready")),
        ("Age", "string", 0, _age),
        ("Role", "string", 1, lambda o, n: o.get("spec", {}).get("role", "")),
    ],
    "CertificateSigningRequest": [
        ("Age", "string", 0, _age),
        ("SignerName", "string", 0, lambda o, n: o.get("spec", {}).get("signerName", "")),
        ("Requestor", "string", 0, lambda o, n: o.get("spec", {}).get("username", "")),
        ("RequestedDuration", "string", 0, lambda o, n: human_duration(o["spec"]["expirationSeconds"]) if o.get("spec", {}).get("expirationSeconds") else "<none>"),
        ("Condition", "string", 0, lambda o, n: ",".join(c.get("type", "") for c in o.get("status", {}).get("conditions") or []) or "Pending"),
    ],
    "CustomResourceDefinition": [("Created At", "date", 0, lambda o, n: o["metadata"].get("creationTimestamp", ""))],
    "Namespace": [("Status", "string", 0, lambda o, n: o.get("status", {}).get("phase", "Active")), ("Age", "string", 0, _age)],
}

_DEFAULT: list[Column] = [("Age", "string", 0, _age)]


def as_table(rt: ResourceType, items: list[Obj], now: float, resource_version: str, continue_token: str | None = None, include: str = "Metadata") -> dict[str, Any]:
    columns = _COLUMNS.get(rt.kind, _DEFAULT)
    defs = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    defs += [{"name": name, "type": typ, "format": "", "description": name, "priority": prio} for name, typ, prio, _ in columns]
    rows = []
    for obj in items:
        cells: list[Any] = [obj["metadata"]["name"]]
        cells += [fn(obj, now) for _, _, _, fn in columns]
        row: dict[str, Any] = {"cells": cells}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append(row)
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": defs, "rows": rows}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept

