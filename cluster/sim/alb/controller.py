"""The AWS Load Balancer Controller, for Ingresses of class `alb`: builds the load balancer,
HTTP listener, path rules and target groups through the ELBv2 API (moto), keeps the targets
registered (instances on the Service's NodePort, or ready pod IPs from the EndpointSlice), and
writes the Ingress status.  The ALB's data plane listens on its own loopback address."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import structlog
from moto.core.exceptions import ServiceException

from cluster.components.lbc import (
    FINALIZER,
    AnnotationError,
    GroupId,
    IngressSettings,
    exclusive,
    group_id,
    group_load_balancer_name,
    instance_id,
    is_alb_ingress,
    node_is_target,
    settings,
    sorted_members,
    sorted_paths,
    target_group_name,
)
from cluster.kube_views import condition_status
from cluster.sim.addons.workloads import containers_with_image, log_target
from cluster.sim.address_plan import LB_OCTETS
from cluster.sim.alb import lbc_log
from cluster.sim.alb.proxy import AlbProxy, Balancer, Route, path_patterns
from cluster.sim.alb.runtime import AlbRuntime
from cluster.sim.aws.moto_server import backend
from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.controllers.endpoints import SLICE_SERVICE_LABEL
from cluster.sim.kube.store import StoredEvent

log = structlog.get_logger("sim.lbc")

Obj = dict[str, Any]
ADDRESS_TAG = "sim.spotchaos.io/address"


LBC_IMAGE_MARK = "aws-load-balancer-controller"


def cluster_name_flag(workloads: Iterable[Obj]) -> str | None:
    """`--cluster-name` of a deployed Load Balancer Controller (found by its image), as the real
    controller tags what it creates with the cluster it was told it runs in."""
    for d in workloads:
        for c in containers_with_image(d, LBC_IMAGE_MARK):
            args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
            for i, arg in enumerate(args):
                if arg.startswith("--cluster-name="):
                    return arg.split("=", 1)[1]
                if arg == "--cluster-name" and i + 1 < len(args):
                    return args[i + 1]
    return None


def _ref(ing: Obj) -> str:
    return f"{ing['metadata'].get('namespace')}/{ing['metadata']['name']}"


def _group_key(ing: Obj) -> GroupId:
    """The group an Ingress reconciles with; one whose group.name is invalid stands alone, so
    that its own build fails with the reason."""
    try:
        return group_id(ing)
    except AnnotationError:
        meta = ing["metadata"]
        return GroupId(meta.get("namespace", "default"), meta["name"])


class BuildError(Exception):
    """The model cannot be built (LBC's FailedBuildModel)."""


class LoadBalancerController(Controller):
    name = "aws-load-balancer-controller"
    kinds = ("Ingress", "Service", "Node", "EndpointSlice")
    resync = 60.0
    coalesce = 0.05

    def __init__(self, ctx: SimContext, runtime: AlbRuntime, proxy: AlbProxy) -> None:
        super().__init__(ctx)
        self.runtime = runtime
        self.proxy = proxy
        self.ing_rt = ctx.api.rt("Ingress")
        self.svc_rt = ctx.api.rt("Service")
        self.node_rt = ctx.api.rt("Node")
        self.slice_rt = ctx.api.rt("EndpointSlice")
        self.balancers: dict[GroupId, Balancer] = {}
        self._next_address = 1
        self._opening: dict[GroupId, asyncio.Task[None]] = {}
        self._last_error: dict[GroupId, str] = {}
        self._pending_lines: list[Callable[[float], list[str]]] = []  # this reconcile's log lines, written once it is done

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        if ev.resource.key == self.ing_rt.key:
            keys = {_group_key(ev.obj)}
            if ev.old is not None:
                keys.add(_group_key(ev.old))  # an Ingress that left its group: the group it left rebuilds too
            return sorted(keys)
        if ev.resource.key == self.node_rt.key and ev.old is not None and ev.type == "MODIFIED":
            if ev.old.get("metadata", {}).get("labels") == ev.obj["metadata"].get("labels") and ev.old.get("spec") == ev.obj.get("spec") and condition_status(ev.old, "Ready") == condition_status(ev.obj, "Ready"):
                return []
        return self.all_keys()

    def all_keys(self) -> Iterable[Hashable]:
        return sorted({_group_key(i) for i in self.api.store.iter(self.ing_rt) if is_alb_ingress(i)} | set(self.balancers))

    @property
    def elbv2(self) -> Any:
        return backend("elbv2", self.ctx.config.region)

    # ---- reconcile ---------------------------------------------------------------------
    def reconcile(self, key: Hashable) -> None:
        assert isinstance(key, GroupId)
        members = [i for i in self.api.store.iter(self.ing_rt) if is_alb_ingress(i) and _group_key(i) == key]
        leaving = [i for i in members if i["metadata"].get("deletionTimestamp")]
        members = [self._with_finalizer(i) for i in members if not i["metadata"].get("deletionTimestamp")]
        if not members:
            self._teardown(key)
        else:
            self._reconcile_group(key, members)
        for ing in leaving:
            self._remove_finalizer(ing)

    def _with_finalizer(self, ing: Obj) -> Obj:
        if FINALIZER in (ing["metadata"].get("finalizers") or []):
            return ing

        def add(o: Obj) -> None:
            o["metadata"].setdefault("finalizers", []).append(FINALIZER)
        return self.api.mutate(self.ing_rt, ing["metadata"]["namespace"], ing["metadata"]["name"], add) or ing

    def _reconcile_group(self, key: GroupId, members: list[Obj]) -> None:
        try:
            for ing in members:
                group_id(ing)  # a bad group.name fails the build of the Ingress that gave it
            cfgs = {_ref(ing): settings(ing) for ing in members}
            with self.ctx.moto.lock:  # type: ignore[union-attr]
                lb, routes = self._build(key, sorted_members(members), cfgs)
        except (AnnotationError, BuildError) as exc:
            self._failed(key, members, "FailedBuildModel", f"Failed build model due to {exc}", exc)
            return
        except ServiceException as exc:  # AWS refused what the model asked for: the controller's FailedDeployModel, retried on resync
            self._failed(key, members, "FailedDeployModel", f"Failed deploy model due to {exc}", exc)
            return
        self._last_error.pop(key, None)
        self._ensure_balancer(key, lb, routes, members)
        self._write_log()

    def _failed(self, key: GroupId, members: list[Obj], reason: str, message: str, exc: Exception) -> None:
        if self._last_error.get(key) != message:
            self._last_error[key] = message
            for ing in members:
                self.ctx.recorder("ingress").record(ing, reason, message, "Warning")
            log.warning("lbc_failed_build_model" if reason == "FailedBuildModel" else "lbc_failed_deploy_model", group=str(key), error=str(exc))
        self._write_log()  # what the build did before it failed

    def _write_log(self) -> None:
        """What this reconcile did, in the running controller pod's log (`kubectl logs`)."""
        pending, self._pending_lines = self._pending_lines, []
        if not pending:
            return
        pods = sorted((p for p in self.api.store.iter(self.api.rt("Pod")) if (p.get("status") or {}).get("phase") == "Running"
                       and not p["metadata"].get("deletionTimestamp")
                       and any(LBC_IMAGE_MARK in str(c.get("image", "")) for c in p["spec"].get("containers") or [])),
                      key=lambda p: p["metadata"]["name"])
        if not pods:
            return  # no controller pod (a simulator run without add-ons): the lines go nowhere, as nothing would write them
        ts = self.ctx.clock.timestamp()
        target = log_target(pods[0], LBC_IMAGE_MARK)  # the leader: one replica reconciles and logs
        self.api.logs.write(*target, "\n".join(text for make in pending for text in make(ts)), ts)

    def _remove_finalizer(self, ing: Obj) -> None:
        def drop(o: Obj) -> None:
            o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers") or [] if f != FINALIZER]
        self.api.mutate(self.ing_rt, ing["metadata"]["namespace"], ing["metadata"]["name"], drop)

    def _cluster_name(self) -> str | None:
        return cluster_name_flag(self.api.store.iter(self.api.rt("Deployment"))) or self.ctx.config.cluster_name

    def _subnets(self, scheme: str) -> list[str]:
        ec2 = backend("ec2", self.ctx.config.region)
        role = "kubernetes.io/role/elb" if scheme == "internet-facing" else "kubernetes.io/role/internal-elb"
        subnets = [s for s in ec2.describe_subnets() if s.get_tags() and any(t["key"] == role for t in s.get_tags())]
        if not subnets:
            cluster = self._cluster_name()
            subnets = [s for s in ec2.describe_subnets() if any(t["key"].startswith(f"kubernetes.io/cluster/{cluster or ''}") for t in s.get_tags() or [])]
        if not subnets:
            raise BuildError(f"couldn't auto-discover subnets: unable to resolve at least one subnet (0 match VPC and tags: [{role}])")
        by_az: dict[str, str] = {}
        for s in sorted(subnets, key=lambda s: s.id):
            by_az.setdefault(s.availability_zone, s.id)
        return list(by_az.values())

    def _build(self, key: GroupId, members: list[Obj], cfgs: dict[str, IngressSettings]) -> tuple[Any, list[tuple[tuple[str, ...], str]]]:
        """One load balancer for the group; each member's paths, in LBC's order, forward to target
        groups built with that member's own annotations."""
        elbv2 = self.elbv2
        scheme = exclusive({r: c.scheme for r, c in cfgs.items()}, "scheme")
        listen_port = int(exclusive({r: str(c.listen_port) for r, c in cfgs.items()}, "listen-ports"))
        lb_name = group_load_balancer_name(key, self._cluster_name() or "", scheme)
        known = self.balancers.get(key)  # the group's balancer keeps its name (the cluster name in it is read once, as LBC's flag is)
        lb = elbv2.load_balancers.get(known.arn) if known is not None else None
        lb = lb or next((b for b in elbv2.load_balancers.values() if b.name == lb_name), None)
        if lb is None:
            lb = elbv2.create_load_balancer(
                name=lb_name, security_groups=[], subnet_ids=self._subnets(scheme), scheme=scheme, loadbalancer_type="application",
                tags=[{"Key": "elbv2.k8s.aws/cluster", "Value": self._cluster_name() or ""}, {"Key": "ingress.k8s.aws/stack", "Value": str(key)}],
            )
            lb.state = "active"
            log.info("lbc_created_load_balancer", group=str(key), name=lb_name)
            self._pending_lines.append(lambda ts: [lbc_log.deployed(ts, str(key))])
        routes: list[tuple[tuple[str, ...], str]] = []
        wanted_groups: dict[str, tuple[Obj, Obj, IngressSettings]] = {}
        for ing in members:
            ns, name, cfg = ing["metadata"]["namespace"], ing["metadata"]["name"], cfgs[_ref(ing)]
            for rule in (ing.get("spec") or {}).get("rules") or []:
                for p in sorted_paths(((rule.get("http") or {}).get("paths")) or []):
                    svc_ref = (p.get("backend") or {}).get("service") or {}
                    svc = self.api.store.get(self.svc_rt, ns, svc_ref.get("name", ""))
                    if svc is None:
                        raise BuildError(f'ingress: {ns}/{name}: Service "{svc_ref.get("name")}" not found')
                    port = self._service_port(svc, svc_ref.get("port") or {})
                    if cfg.target_type == "instance" and svc["spec"].get("type") not in ("NodePort", "LoadBalancer"):
                        raise BuildError(f"ingress: {ns}/{name}: {ns}/{svc['metadata']['name']}: service type must be either 'NodePort' or 'LoadBalancer' for instance target type")
                    tg = self._target_group(ns, svc, port, cfg, lb)
                    wanted_groups[tg.arn] = (svc, port, cfg)
                    routes.append((path_patterns(p.get("path", "/"), p.get("pathType", "ImplementationSpecific")), tg.arn))
        self._listener(lb, listen_port, routes)
        for arn, (svc, port, cfg) in wanted_groups.items():
            self._sync_targets(elbv2.target_groups[arn], svc, port, cfg)
        return lb, routes

    def _service_port(self, svc: Obj, ref: Obj) -> Obj:
        for p in svc["spec"].get("ports") or []:
            if ("number" in ref and p.get("port") == ref["number"]) or ("name" in ref and p.get("name") == ref["name"]):
                return p
        raise BuildError(f"ingress: service port {ref} not found in Service {svc['metadata']['name']}")

    def _target_group(self, ns: str, svc: Obj, port: Obj, cfg: IngressSettings, lb: Any) -> Any:
        elbv2 = self.elbv2
        tg_name = target_group_name(ns, svc["metadata"]["name"], str(port.get("port")))
        tg = next((t for t in elbv2.target_groups.values() if t.name == tg_name), None)
        traffic_port = int(port["nodePort"]) if cfg.target_type == "instance" else int(self._pod_port(svc, port) or port.get("port"))
        if tg is None:
            tg = elbv2.create_target_group(
                tg_name, protocol="HTTP", port=traffic_port, vpc_id=lb.vpc_id, target_type=cfg.target_type,
                healthcheck_protocol="HTTP", healthcheck_port=cfg.hc_port, healthcheck_path=cfg.hc_path,
                healthcheck_interval_seconds=cfg.hc_interval, healthcheck_timeout_seconds=cfg.hc_timeout,
                healthy_threshold_count=str(cfg.healthy), unhealthy_threshold_count=str(cfg.unhealthy),
                matcher={"HttpCode": cfg.success_codes},
                tags=[{"Key": "elbv2.k8s.aws/cluster", "Value": self._cluster_name() or ""}, {"Key": "service.k8s.aws/resource", "Value": f"{ns}/{svc['metadata']['name']}:{port.get('port')}"}],
            )
            log.info("lbc_created_target_group", name=tg_name, target_type=cfg.target_type, port=traffic_port)
        attributes = {k: v for k, v in cfg.tg_attributes.items() if str(tg.attributes.get(k)) != v}
        if attributes:
            elbv2.modify_target_group_attributes(tg.arn, attributes)
        if lb.arn not in tg.load_balancer_arns:
            tg.load_balancer_arns.append(lb.arn)
        self.runtime.group(tg)
        return tg

    def _pod_port(self, svc: Obj, port: Obj) -> int | None:
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, int):
            return target
        slice_ = self.api.store.get(self.slice_rt, svc["metadata"]["namespace"], svc["metadata"]["name"])
        for p in (slice_ or {}).get("ports") or []:
            if p.get("name", "") == port.get("name", "") and p.get("port"):
                return int(p["port"])
        return None

    def _listener(self, lb: Any, listen_port: int, routes: list[tuple[tuple[str, ...], str]]) -> None:
        elbv2 = self.elbv2
        listener = next((ln for ln in lb.listeners.values() if int(ln.port) == listen_port), None)
        if listener is None:
            listener = elbv2.create_listener(
                load_balancer_arn=lb.arn, protocol="HTTP", port=str(listen_port), ssl_policy=None, certificate=None,
                actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}],
            )
        existing = {r.priority: r for r in listener.rules.values() if not r.is_default}
        wanted = {i + 1: (patterns, arn) for i, (patterns, arn) in enumerate(routes)}
        for prio, rule in existing.items():
            if prio not in wanted:
                elbv2.delete_rule(rule.arn)
        for prio, (patterns, arn) in wanted.items():
            rule = existing.get(prio)
            conditions = [{"Field": "path-pattern", "PathPatternConfig": {"Values": list(patterns)}}]  # as LBC writes it: the plain Values take one pattern
            actions = [{"Type": "forward", "TargetGroupArn": arn}]
            if rule is not None:
                current = [tuple(c.get("Values") or (c.get("PathPatternConfig") or {}).get("Values") or []) for c in rule.conditions]
                if current == [patterns] and rule.actions and rule.actions[0].data.get("TargetGroupArn") == arn:
                    continue
                elbv2.delete_rule(rule.arn)
            elbv2.create_rule(listener.arn, conditions, prio, actions)

    def _sync_targets(self, tg: Any, svc: Obj, port: Obj, cfg: IngressSettings) -> None:
        """Register the targets the target group should have and deregister the rest (draining ones are leaving already)."""
        wanted = self._instance_targets(port, cfg) if cfg.target_type == "instance" else self._ip_targets(svc, port)
        group = self.runtime.group(tg)
        current = {k for k, t in group.health.targets.items() if t.state != "draining"}
        add = [k for k in wanted if k not in current]
        remove = [k for k in current if k not in wanted]
        if add:
            self.elbv2.register_targets(tg.arn, [{"Id": i, "Port": p} for i, p in add])
            log.info("lbc_registered_targets", target_group=tg.name, targets=[f"{i}:{p}" for i, p in add])
            self._pending_lines.append(lambda ts, arn=tg.arn: lbc_log.registration(ts, arn, add, register=True))
        if remove:
            self.elbv2.deregister_targets(tg.arn, [{"Id": i, "Port": p} for i, p in remove])
            log.info("lbc_deregistered_targets", target_group=tg.name, targets=[f"{i}:{p}" for i, p in remove])
            self._pending_lines.append(lambda ts, arn=tg.arn: lbc_log.registration(ts, arn, remove, register=False))

    def _instance_targets(self, port: Obj, cfg: IngressSettings) -> dict[tuple[str, int], None]:
        """target-type instance: the Service's node port on every node that may be a target."""
        wanted: dict[tuple[str, int], None] = {}
        for node in self.api.store.iter(self.node_rt):
            iid = instance_id(node)
            if iid and node_is_target(node, cfg.node_labels):
                wanted[(iid, int(port["nodePort"]))] = None
        return wanted

    def _ip_targets(self, svc: Obj, port: Obj) -> dict[tuple[str, int], None]:
        """target-type ip: the ready endpoints of the Service's EndpointSlices, on the port's number there."""
        wanted: dict[tuple[str, int], None] = {}
        slices = self.api.store.list(self.slice_rt, svc["metadata"]["namespace"],
                                     lambda s: (s["metadata"].get("labels") or {}).get(SLICE_SERVICE_LABEL) == svc["metadata"]["name"])
        for sl in slices:
            number = next((int(p["port"]) for p in sl.get("ports") or [] if p.get("name", "") == port.get("name", "") and p.get("port")), None)
            if number is None:
                continue
            for ep in sl.get("endpoints") or []:
                if (ep.get("conditions") or {}).get("ready"):
                    for ip in ep.get("addresses") or []:
                        wanted[(ip, number)] = None
        return wanted

    # ---- data plane and status ---------------------------------------------------------------
    def _ensure_balancer(self, key: GroupId, lb: Any, routes: list[tuple[tuple[str, ...], str]], members: list[Obj]) -> None:
        balancer = self.balancers.get(key)
        if balancer is None:
            octet = self.ctx.config.lb_address_octet or LB_OCTETS.start  # leased by the simulator; parts run alone take the first
            address = f"127.{octet}.{self._next_address // 250}.{self._next_address % 250 + 1}"
            self._next_address += 1
            balancer = self.balancers[key] = Balancer(lb.name, lb.arn, address)
        balancer.routes = [Route(p, arn) for p, arn in routes]
        if balancer.listener is None:
            if key not in self._opening:
                self._opening[key] = asyncio.get_running_loop().create_task(self._open(key, balancer))
            return
        for ing in members:
            self._write_status(ing, balancer)

    async def _open(self, key: GroupId, balancer: Balancer) -> None:
        try:
            await self.proxy.open(balancer, self.ctx.config.alb.port)
            with self.ctx.moto.lock:  # type: ignore[union-attr]
                self.elbv2.add_tags([balancer.arn], [{"Key": ADDRESS_TAG, "Value": f"{balancer.address}:{balancer.port}"}])
            log.info("alb_listening", load_balancer=balancer.name, address=f"{balancer.address}:{balancer.port}")
        except OSError as exc:
            log.error("alb_listen_failed", load_balancer=balancer.name, error=str(exc))
        finally:
            self._opening.pop(key, None)
        self.enqueue(key)

    def _write_status(self, ing: Obj, balancer: Balancer) -> None:
        entry: Obj = {"ip": balancer.address}
        if balancer.port != 80:
            entry["ports"] = [{"port": balancer.port, "protocol": "TCP"}]
        wanted = {"loadBalancer": {"ingress": [entry]}}
        if (ing.get("status") or {}) == wanted:
            return

        def change(o: Obj) -> None:
            o["status"] = wanted
        updated = self.api.mutate(self.ing_rt, ing["metadata"]["namespace"], ing["metadata"]["name"], change)
        if updated is not None:
            self.ctx.recorder("ingress").record(updated, "SuccessfullyReconciled", "Successfully reconciled")

    def _teardown(self, key: GroupId) -> None:
        balancer = self.balancers.pop(key, None)
        if balancer is None:
            return
        asyncio.get_running_loop().create_task(self.proxy.close(balancer))
        with self.ctx.moto.lock:  # type: ignore[union-attr]
            elbv2 = self.elbv2
            lb = elbv2.load_balancers.get(balancer.arn)
            arns = {r.target_group_arn for r in balancer.routes}
            if lb is not None:
                for ln in list(lb.listeners.values()):
                    elbv2.delete_listener(ln.arn)
                elbv2.delete_load_balancer(balancer.arn)
            for arn in arns:
                if arn in elbv2.target_groups:
                    elbv2.delete_target_group(arn)
        log.info("lbc_deleted_load_balancer", group=str(key), name=balancer.name)

    async def stop(self) -> None:
        for balancer in list(self.balancers.values()):
            await self.proxy.close(balancer)

