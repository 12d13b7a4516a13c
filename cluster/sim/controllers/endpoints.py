"""Endpoints and EndpointSlice controllers: each Service with a selector gets an Endpoints
object (ready and not-ready addresses) and an EndpointSlice (ready/serving/terminating
conditions), as kube-controller-manager writes them.  kube-proxy and the Load Balancer
Controller read these, never the pods directly."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.kube.disruption import pod_ready
from cluster.sim.kube.selectors import labels_match, selector_from_spec
from cluster.sim.kube.store import StoredEvent

Obj = dict[str, Any]

SLICE_SERVICE_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"


def selects(service: Obj, pod: Obj) -> bool:
    selector = service.get("spec", {}).get("selector")
    if not selector:
        return False
    return labels_match(selector_from_spec({"matchLabels": selector}), pod["metadata"].get("labels"))


def resolve_target_port(port: Obj, pod: Obj) -> int | None:
    """A Service port's targetPort on one pod: a number, or a named container port."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for c in pod["spec"].get("containers") or []:
        for cp in c.get("ports") or []:
            if cp.get("name") == target and cp.get("protocol", "TCP") == port.get("protocol", "TCP"):
                return int(cp["containerPort"])
    return None


def endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    out = []
    for p in service["spec"].get("ports") or []:
        number = resolve_target_port(p, pod)
        if number is not None:
            entry: Obj = {"port": number, "protocol": p.get("protocol", "TCP")}
            if p.get("name"):
                entry["name"] = p["name"]
            out.append(entry)
    return out


def _target_ref(pod: Obj) -> Obj:
    m = pod["metadata"]
    return {"kind": "Pod", "namespace": m["namespace"], "name": m["name"], "uid": m.get("uid", "")}


def endpoints_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """The Endpoints subsets: terminating pods are left out, not-ready ones listed apart."""
    groups: dict[str, Obj] = {}
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        ip = pod.get("status", {}).get("podIP")
        if not ip or pod["metadata"].get("deletionTimestamp"):
            continue
        ports = endpoint_ports(service, pod)
        if not ports:
            continue
        key = repr(sorted((p["port"], p.get("name", "")) for p in ports))
        subset = groups.setdefault(key, {"ports": ports})
        address = {"ip": ip, "nodeName": pod["spec"].get("nodeName"), "targetRef": _target_ref(pod)}
        subset.setdefault("addresses" if pod_ready(pod) else "notReadyAddresses", []).append(address)
    return list(groups.values())


def slice_endpoints(pods: list[Obj], zones: dict[str, str]) -> list[Obj]:
    """EndpointSlice endpoints: terminating pods stay, with ready=false and serving=<readiness>."""
    out = []
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        ip = pod.get("status", {}).get("podIP")
        if not ip:
            continue
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        serving = pod_ready(pod)
        node = pod["spec"].get("nodeName")
        ep: Obj = {
            "addresses": [ip],
            "conditions": {"ready": serving and not terminating, "serving": serving, "terminating": terminating},
            "nodeName": node,
            "targetRef": _target_ref(pod),
        }
        if node and node in zones:
            ep["zone"] = zones[node]
        out.append(ep)
    return out


class EndpointsController(Controller):
    name = "endpoints-controller"
    kinds = ("Service", "Pod")
    resync = 30.0
    coalesce = 0.05

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.svc_rt = ctx.api.rt("Service")
        self.pod_rt = ctx.api.rt("Pod")
        self.node_rt = ctx.api.rt("Node")
        self.ep_rt = ctx.api.rt("Endpoints")
        self.slice_rt = ctx.api.rt("EndpointSlice")

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        ns = ev.obj["metadata"].get("namespace", "")
        if ev.resource.key == self.svc_rt.key:
            return [(ns, ev.obj["metadata"]["name"])]
        pods = [ev.obj] + ([ev.old] if ev.old is not None else [])
        return [
            (ns, s["metadata"]["name"])
            for s in self.api.store.list(self.svc_rt, ns)
            if any(selects(s, p) for p in pods)
        ]

    def all_keys(self) -> Iterable[Hashable]:
        return [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in self.api.store.iter(self.svc_rt)]

    def reconcile(self, key: Hashable) -> None:
        ns, name = key  # type: ignore[misc]
        svc = self.api.store.get(self.svc_rt, ns, name)
        if svc is None:
            for rt in (self.ep_rt, self.slice_rt):
                if self.api.store.get(rt, ns, name) is not None:
                    self.api.store.remove(rt, ns, name)
            return
        if not svc.get("spec", {}).get("selector"):
            return  # Endpoints of a selector-less Service belong to the user
        pods = self.api.store.list(self.pod_rt, ns, lambda p: selects(svc, p))
        self._write_endpoints(svc, endpoints_subsets(svc, pods))
        zones = {
            n["metadata"]["name"]: n["metadata"].get("labels", {}).get("topology.kubernetes.io/zone", "")
            for n in self.api.store.iter(self.node_rt)
        }
        self._write_slice(svc, slice_endpoints(pods, zones))

    def _owner(self, svc: Obj) -> list[Obj]:
        m = svc["metadata"]
        return [{"apiVersion": "v1", "kind": "Service", "name": m["name"], "uid": m.get("uid", ""), "controller": True, "blockOwnerDeletion": True}]

    def _write_endpoints(self, svc: Obj, subsets: list[Obj]) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        current = self.api.store.get(self.ep_rt, ns, name)
        if current is None:
            self.api.create(self.ep_rt, ns, {"metadata": {"name": name, "labels": dict(svc["metadata"].get("labels") or {})}, "subsets": subsets})
        elif (current.get("subsets") or []) != subsets:
            def change(o: Obj) -> None:
                o["subsets"] = subsets
            self.api.mutate(self.ep_rt, ns, name, change)

    def _write_slice(self, svc: Obj, endpoints: list[Obj]) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        ports = []
        for p in svc["spec"].get("ports") or []:
            target = p.get("targetPort", p.get("port"))
            number = target if isinstance(target, int) else None
            if number is None and endpoints:
                pod = self.api.store.get(self.pod_rt, ns, endpoints[0]["targetRef"]["name"])
                number = resolve_target_port(p, pod) if pod else None
            entry: Obj = {"name": p.get("name", ""), "port": number, "protocol": p.get("protocol", "TCP")}
            ports.append(entry)
        current = self.api.store.get(self.slice_rt, ns, name)
        if current is None:
            self.api.create(self.slice_rt, ns, {
                "metadata": {
                    "name": name,
                    "labels": {SLICE_SERVICE_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY},
                    "ownerReferences": self._owner(svc),
                },
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": ports,
            })
        elif current.get("endpoints") != endpoints or current.get("ports") != ports:
            def change(o: Obj) -> None:
                o["endpoints"] = endpoints
                o["ports"] = ports
            self.api.mutate(self.slice_rt, ns, name, change)
