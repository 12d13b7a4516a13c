"""Static Spot-readiness checks of a cluster's objects and node groups (pure): each finding says
what is wrong, why it matters when a Spot instance is reclaimed, and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from cluster.instance_types import INSTANCE_TYPES, allocatable, lookup
from cluster.pod_lifecycle import prestop_seconds
from cluster.quantities import millicores

Obj = dict[str, Any]
NOTICE_SECONDS = 120  # EC2's two-minute warning
ELB_DEFAULT_DEREGISTRATION_DELAY = 300
DEFAULT_GRACE = 30
NTH_IMAGE = "aws-node-termination-handler"
CA_IMAGE = "cluster-autoscaler"
TF_SERVING_MARKS = ("tensorflow/serving", "tensorflow_model_server")
SECRET_KEY_NAMES = ("aws_secret_access_key", "secret_access_key", "aws_access_key_id")
MANAGED_TAG = "aws-node-termination-handler/managed"


@dataclass(frozen=True)
class NodeGroupFacts:
    name: str
    instance_types: tuple[str, ...]
    spot: bool
    max_size: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    check: str
    level: str  # "error" | "warning"
    subject: str
    problem: str
    why: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _containers(obj: Obj) -> list[Obj]:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return list(spec.get("containers") or [])


def _pod_spec(obj: Obj) -> Obj:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


def _name(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {meta.get('namespace', 'default') + '/' if obj.get('kind') not in ('Namespace', 'IngressClass') else ''}{meta.get('name')}"


def _env(container: Obj) -> dict[str, str]:
    return {str(e["name"]).lower(): str(e.get("value", "")).lower() for e in container.get("env") or [] if "name" in e}


def _is_serving(obj: Obj) -> bool:
    return obj.get("kind") == "Deployment" and any(
        any(m in str(c.get("image", "")) or m in " ".join(map(str, c.get("command") or [])) for m in TF_SERVING_MARKS) for c in _containers(obj))


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def diagnose(objects: list[Obj], node_groups: list[NodeGroupFacts] | None = None) -> list[Finding]:
    out: list[Finding] = []
    add = out.append
    by_kind: dict[str, list[Obj]] = {}
    for o in objects:
        by_kind.setdefault(str(o.get("kind")), []).append(o)
    workloads = by_kind.get("DaemonSet", []) + by_kind.get("Deployment", [])
    serving = [d for d in by_kind.get("Deployment", []) if _is_serving(d)]

    # ---- the Node Termination Handler ----
    nth = [(w, c) for w in workloads for c in _containers(w) if NTH_IMAGE in str(c.get("image", ""))]
    if not nth:
        add(Finding("nth-missing", "error", "cluster", "no aws-node-termination-handler is deployed",
                    "nothing cordons or drains a node on the two-minute notice: its pods die with the instance and requests in flight fail",
                    "deploy NTH (IMDS-mode DaemonSet, or queue-processor Deployment fed by EventBridge)"))
    queue_mode = False
    for w, c in nth:
        env = _env(c)
        queue_mode = queue_mode or env.get("enable_sqs_termination_draining") == "true"
        if env.get("enable_spot_interruption_draining") == "false" and env.get("enable_sqs_termination_draining") != "true":
            add(Finding("nth-no-draining", "error", _name(w), "ENABLE_SPOT_INTERRUPTION_DRAINING=false",
                        "NTH sees the Spot notice and does nothing with it", "remove the variable or set it to true"))
        if env.get("cordon_only") == "true":
            add(Finding("nth-cordon-only", "error", _name(w), "CORDON_ONLY=true",
                        "the node is cordoned but its pods keep running until the instance dies, so they are killed without a graceful stop",
                        "remove CORDON_ONLY so that NTH drains the node"))
        if env.get("exclude_from_load_balancers") != "true":
            add(Finding("nth-keeps-lb-traffic", "warning", _name(w), "EXCLUDE_FROM_LOAD_BALANCERS is not set",
                        "cordoning does not take a node out of an ALB in instance mode: it keeps getting traffic until it dies (aws-node-termination-handler#316)",
                        "set EXCLUDE_FROM_LOAD_BALANCERS=true (and TAINT_NODE=true), or use ip targets"))
        if queue_mode and env.get("check_tag_before_draining", "true") != "false" and node_groups is not None:
            untagged = [g.name for g in node_groups if MANAGED_TAG not in g.tags]
            if untagged:
                add(Finding("nth-queue-untagged", "error", _name(w), f"node groups without the {MANAGED_TAG} tag: {', '.join(untagged)}",
                            "queue-mode NTH checks that tag before draining and silently ignores the others' events",
                            f"tag those Auto Scaling groups with {MANAGED_TAG}, or set CHECK_TAG_BEFORE_DRAINING=false"))

    # ---- the serving workload ----
    pdbs = by_kind.get("PodDisruptionBudget", [])
    for d in serving:
        spec, pod = d.get("spec") or {}, _pod_spec(d)
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        replicas = int(spec.get("replicas", 1))
        grace = float(pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE))
        for c in _containers(d):
            if not c.get("readinessProbe"):
                add(Finding("no-readiness-probe", "error", _name(d), f"container {c.get('name')} has no readiness probe",
                            "a replacement pod gets traffic before its model is loaded, and the load balancer cannot tell a dead replica",
                            "add a readinessProbe on the model status (GET /v1/models/<name>)"))
            stop = max(grace, prestop_seconds(c))
            if stop >= NOTICE_SECONDS:
                add(Finding("grace-exceeds-notice", "error", _name(d), f"preStop + grace period is {stop:g}s",
                            "the instance is reclaimed 120 s after the notice: a pod still stopping then is killed mid-request",
                            "keep terminationGracePeriodSeconds (and preStop) well under 120 s"))
        matching = [p for p in pdbs if _selects((p.get("spec") or {}).get("selector") or {}, labels)]
        if not matching:
            add(Finding("no-pdb", "warning", _name(d), "no PodDisruptionBudget selects its pods",
                        "a drain may evict every replica at once (several Spot nodes can be reclaimed together)",
                        "add a PodDisruptionBudget (for example maxUnavailable: 20%)"))
        for p in matching:
            ps = p.get("spec") or {}
            blocks = str(ps.get("maxUnavailable", "")) in ("0", "0%") or str(ps.get("minAvailable", "")) in ("100%", str(replicas))
            if blocks:
                add(Finding("pdb-blocks-evictions", "error", _name(p), "the budget allows no eviction",
                            "NTH's drain is refused (429) until the instance dies, so the drain never finishes",
                            "allow at least one disruption (maxUnavailable >= 1)"))
        if not pod.get("topologySpreadConstraints") and not (pod.get("affinity") or {}).get("podAntiAffinity") and replicas > 1:
            add(Finding("no-spread", "warning", _name(d), "no topology spread or anti-affinity",
                        "replicas may pile up in one AZ or on one node, and one reclaim takes many of them",
                        "add topologySpreadConstraints on topology.kubernetes.io/zone and kubernetes.io/hostname"))
        for c in _containers(d):
            keyed = [e for e in c.get("env") or [] if ((e.get("valueFrom") or {}).get("secretKeyRef")) and str(e.get("name", "")).lower() in SECRET_KEY_NAMES]
            if keyed:
                add(Finding("static-credentials", "error", _name(d), f"{', '.join(e['name'] for e in keyed)} from Secret {keyed[0]['valueFrom']['secretKeyRef'].get('name')}",
                            "long-lived keys in the cluster leak and never rotate", "use IRSA or EKS Pod Identity for S3 access"))
        # HPA floor vs Spot capacity
        for h in by_kind.get("HorizontalPodAutoscaler", []):
            target = ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
            if target != (d.get("metadata") or {}).get("name") or not node_groups:
                continue
            request = sum(millicores(((c.get("resources") or {}).get("requests") or {}).get("cpu", 0)) for c in _containers(d))
            per_node = [(g, allocatable(lookup(g.instance_types[0]))[0]) for g in node_groups if g.spot and g.instance_types[0] in INSTANCE_TYPES]
            fits = sum(g.max_size * (cpu // request if request else 0) for g, cpu in per_node)
            floor = int((h.get("spec") or {}).get("minReplicas", 1))
            if request and floor > fits:
                add(Finding("hpa-min-exceeds-spot", "error", _name(h), f"minReplicas {floor} but the Spot groups hold at most {fits} replicas",
                            "replicas stay Pending even at full Spot capacity", "raise the Spot groups' max size or lower minReplicas"))

    # ---- the load balancer ----
    for ing in by_kind.get("Ingress", []):
        ann = (ing.get("metadata") or {}).get("annotations") or {}
        attrs = dict(kv.split("=", 1) for kv in ann.get("alb.ingress.kubernetes.io/target-group-attributes", "").split(",") if "=" in kv)
        delay = int(attrs.get("deregistration_delay.timeout_seconds", ELB_DEFAULT_DEREGISTRATION_DELAY))
        if delay >= NOTICE_SECONDS:
            add(Finding("dereg-delay-exceeds-notice", "error", _name(ing), f"deregistration delay is {delay}s"
                        + (" (the ELB default)" if "deregistration_delay.timeout_seconds" not in attrs else ""),
                        "the instance dies 120 s after the notice while the target is still draining: requests in flight are cut (502/504)",
                        "set alb.ingress.kubernetes.io/target-group-attributes: deregistration_delay.timeout_seconds=30 (shorter than preStop)"))

    # ---- node groups and the autoscaler ----
    for g in node_groups or []:
        if not g.spot:
            continue
        known = [lookup(t) for t in g.instance_types if t in INSTANCE_TYPES]
        ratios = {round(t.memory_mib / 1024 / t.vcpus) for t in known}
        if len(g.instance_types) < 4:
            add(Finding("spot-not-diversified", "warning", f"node group {g.name}", f"{len(g.instance_types)} instance types",
                        "few Spot pools mean correlated interruptions and launch failures", "list at least 4 types of the same size"))
        if len(ratios) > 1 or len({t.vcpus for t in known}) > 1:
            add(Finding("spot-mixed-shapes", "warning", f"node group {g.name}", "instance types of different vCPU or vCPU:memory shapes",
                        "Cluster Autoscaler plans with the first type: other shapes make its estimates wrong",
                        "keep one vCPU and memory size per node group; make another group for another size"))
    ca = [(w, c) for w in by_kind.get("Deployment", []) for c in _containers(w) if CA_IMAGE in str(c.get("image", ""))]
    if not ca:
        add(Finding("ca-missing", "warning", "cluster", "no Cluster Autoscaler is deployed",
                    "reclaimed capacity comes back only through the Auto Scaling groups' own replacement; pending pods do not grow the cluster",
                    "deploy Cluster Autoscaler with --node-group-auto-discovery"))
    for w, c in ca:
        args = " ".join(map(str, (c.get("command") or []) + (c.get("args") or [])))
        if "--node-group-auto-discovery" not in args and "--nodes=" not in args:
            add(Finding("ca-no-discovery", "error", _name(w), "no --node-group-auto-discovery (or --nodes)", "the autoscaler manages no node group",
                        "add --node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/<cluster>"))
        elif node_groups:
            tags_wanted = [t.split("=")[0] for t in args.split("asg:tag=", 1)[-1].split()[0].split(",")] if "asg:tag=" in args else []
            missed = [g.name for g in node_groups if g.spot and tags_wanted and not all(t in g.tags for t in tags_wanted)]
            if missed:
                add(Finding("ca-misses-spot-groups", "error", _name(w), f"auto-discovery does not find {', '.join(missed)}",
                            "those Spot groups are never grown for pending pods", f"tag them with {', '.join(tags_wanted)}"))

    # ---- credentials ----
    for s in by_kind.get("Secret", []):
        keys = {str(k).lower() for k in list(s.get("data") or {}) + list(s.get("stringData") or {})}
        if keys & set(SECRET_KEY_NAMES):
            add(Finding("static-credentials", "error", _name(s), "holds AWS access keys",
                        "long-lived keys in the cluster leak and never rotate", "use IRSA or EKS Pod Identity and delete the Secret"))
    return out
