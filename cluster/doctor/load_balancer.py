"""Checks of the ALB Ingresses, judged by the reading the AWS Load Balancer Controller makes of
their annotations (cluster.components.lbc): the deregistration delay against the notice, and a
health check the backend can pass."""

from __future__ import annotations

from cluster.components.lbc import PREFIX, AnnotationError, IngressSettings, matches_codes, settings
from cluster.components.tf_serving import ServingArgs, get_status, serving_args
from cluster.doctor.findings import (
    NOTICE_SECONDS,
    Finding,
    Inventory,
    Level,
    Obj,
    containers,
    name_of,
    pod_labels,
)

ELB_DEFAULT_DEREGISTRATION_DELAY = 300  # ELBv2's default, which LBC leaves unless the attribute is set


def check(inv: Inventory) -> list[Finding]:
    out: list[Finding] = []
    for ing in inv.of_kind("Ingress"):
        if not isinstance(ing.get("metadata"), dict):
            continue
        try:
            cfg = settings(ing)
        except AnnotationError as exc:
            out.append(Finding("lbc-annotation-invalid", Level.ERROR, name_of(ing), str(exc),
                               "the Load Balancer Controller refuses the Ingress: no ALB, or the old one stays unchanged", "fix the annotation"))
            continue
        out += _deregistration(ing, cfg) + _health_check(inv, ing, cfg)
    return out


def _deregistration(ing: Obj, cfg: IngressSettings) -> list[Finding]:
    raw = cfg.tg_attributes.get("deregistration_delay.timeout_seconds")
    try:
        delay = int(raw) if raw is not None else ELB_DEFAULT_DEREGISTRATION_DELAY
    except ValueError:
        return [Finding("lbc-annotation-invalid", Level.ERROR, name_of(ing), f"deregistration_delay.timeout_seconds={raw} is not a number",
                        "ELBv2 refuses the target group attributes", "give whole seconds, e.g. deregistration_delay.timeout_seconds=30")]
    if delay < NOTICE_SECONDS:
        return []
    return [Finding("dereg-delay-exceeds-notice", Level.ERROR, name_of(ing), f"deregistration delay is {delay}s" + (" (the ELB default)" if raw is None else ""),
                    "the instance dies 120 s after the notice while the target is still draining: requests in flight are cut (502/504)",
                    f"set {PREFIX}target-group-attributes: deregistration_delay.timeout_seconds=30 (shorter than preStop)")]


def _backend_services(ing: Obj) -> set[str]:
    spec = ing.get("spec") or {}
    backends = [spec.get("defaultBackend") or {}]
    for rule in spec.get("rules") or []:
        backends += [p.get("backend") or {} for p in ((rule or {}).get("http") or {}).get("paths") or []]
    return {str((b.get("service") or {}).get("name")) for b in backends if (b.get("service") or {}).get("name")}


def _served_by(inv: Inventory, namespace: str, service_names: set[str]) -> list[tuple[Obj, ServingArgs]]:
    """The TF Serving containers (with their REST API on) behind these Services."""
    out = []
    for svc in inv.of_kind("Service"):
        meta = svc.get("metadata") or {}
        selector = (svc.get("spec") or {}).get("selector") or {}
        if meta.get("name") not in service_names or meta.get("namespace", "default") != namespace or not selector:
            continue
        for d in inv.of_kind("Deployment"):
            if (d.get("metadata") or {}).get("namespace", "default") != namespace:
                continue
            labels = pod_labels(d)
            if all(labels.get(k) == v for k, v in selector.items()):
                out += [(d, args) for c in containers(d) if (args := serving_args(c)) is not None]
    return out


def _health_check(inv: Inventory, ing: Obj, cfg: IngressSettings) -> list[Finding]:
    namespace = (ing.get("metadata") or {}).get("namespace", "default")
    out = []
    for d, args in _served_by(inv, namespace, _backend_services(ing)):
        status = get_status(args, cfg.hc_path)
        wrong_port = cfg.target_type == "ip" and cfg.hc_port != "traffic-port" and cfg.hc_port != str(args.rest_port)
        if matches_codes(cfg.success_codes, status) and not wrong_port:
            continue
        good = f"/v1/models/{args.model_name}"
        problem = (f"health check port {cfg.hc_port} is not TF Serving's REST port {args.rest_port}" if wrong_port else
                   f"health check GET {cfg.hc_path} answers {status} from {name_of(d)}, outside the success codes {cfg.success_codes}")
        out.append(Finding("alb-health-check-fails", Level.ERROR, name_of(ing), problem,
                           "every target fails its health check, so the ALB fails open and routes to all of them: "
                           "it can never take a dead or draining replica out by health",
                           f"set {PREFIX}healthcheck-path: {good} (TF Serving's model status answers 200) on the traffic port"))
    return out
