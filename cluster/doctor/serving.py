"""Checks of the serving workload (TF Serving Deployments): readiness, stop time against the
notice, disruption budgets, spread, credentials in env, and the HPA floor against Spot capacity."""

from __future__ import annotations

from cluster.components.karpenter import is_karpenter
from cluster.components.tf_serving import runs_tf_serving
from cluster.doctor.findings import (
    NOTICE_SECONDS,
    Finding,
    Inventory,
    Level,
    Obj,
    containers,
    name_of,
    pod_labels,
    pod_spec,
    selects,
)
from cluster.instance_types import INSTANCE_TYPES, allocatable, lookup
from cluster.pod_lifecycle import prestop_seconds
from cluster.quantities import millicores

DEFAULT_GRACE = 30  # terminationGracePeriodSeconds when unset
SECRET_KEY_NAMES = ("aws_secret_access_key", "secret_access_key", "aws_access_key_id")


def serving_deployments(inv: Inventory) -> list[Obj]:
    return [d for d in inv.of_kind("Deployment") if any(runs_tf_serving(c) for c in containers(d))]


def check(inv: Inventory) -> list[Finding]:
    out: list[Finding] = []
    for d in serving_deployments(inv):
        out += _probes_and_stop(d) + _budgets(inv, d) + _spread(d) + _env_credentials(d) + _hpa_floor(inv, d)
    return out


def _probes_and_stop(d: Obj) -> list[Finding]:
    out = []
    grace = float(pod_spec(d).get("terminationGracePeriodSeconds", DEFAULT_GRACE))
    for c in containers(d):
        if not c.get("readinessProbe"):
            out.append(Finding("no-readiness-probe", Level.ERROR, name_of(d), f"container {c.get('name')} has no readiness probe",
                               "a replacement pod gets traffic before its model is loaded, and the load balancer cannot tell a dead replica",
                               "add a readinessProbe on the model status (GET /v1/models/<name>)"))
        stop = max(grace, prestop_seconds(c))
        if stop >= NOTICE_SECONDS:
            out.append(Finding("grace-exceeds-notice", Level.ERROR, name_of(d), f"preStop + grace period is {stop:g}s",
                               "the instance is reclaimed 120 s after the notice: a pod still stopping then is killed mid-request",
                               "keep terminationGracePeriodSeconds (and preStop) well under 120 s"))
    return out


def _budgets(inv: Inventory, d: Obj) -> list[Finding]:
    replicas = int((d.get("spec") or {}).get("replicas", 1))
    matching = [p for p in inv.of_kind("PodDisruptionBudget") if selects((p.get("spec") or {}).get("selector") or {}, pod_labels(d))]
    if not matching:
        return [Finding("no-pdb", Level.WARNING, name_of(d), "no PodDisruptionBudget selects its pods",
                        "a drain may evict every replica at once (several Spot nodes can be reclaimed together)",
                        "add a PodDisruptionBudget (for example maxUnavailable: 20%)")]
    out = []
    for p in matching:
        ps = p.get("spec") or {}
        if str(ps.get("maxUnavailable", "")) in ("0", "0%") or str(ps.get("minAvailable", "")) in ("100%", str(replicas)):
            out.append(Finding("pdb-blocks-evictions", Level.ERROR, name_of(p), "the budget allows no eviction",
                               "NTH's drain is refused (429) until the instance dies, so the drain never finishes",
                               "allow at least one disruption (maxUnavailable >= 1)"))
    return out


def _spread(d: Obj) -> list[Finding]:
    pod = pod_spec(d)
    if pod.get("topologySpreadConstraints") or (pod.get("affinity") or {}).get("podAntiAffinity") or int((d.get("spec") or {}).get("replicas", 1)) <= 1:
        return []
    return [Finding("no-spread", Level.WARNING, name_of(d), "no topology spread or anti-affinity",
                    "replicas may pile up in one AZ or on one node, and one reclaim takes many of them",
                    "add topologySpreadConstraints on topology.kubernetes.io/zone and kubernetes.io/hostname")]


def _env_credentials(d: Obj) -> list[Finding]:
    out = []
    for c in containers(d):
        keyed = [e for e in c.get("env") or [] if ((e.get("valueFrom") or {}).get("secretKeyRef")) and str(e.get("name", "")).lower() in SECRET_KEY_NAMES]
        if keyed:
            out.append(Finding("static-credentials", Level.ERROR, name_of(d),
                               f"{', '.join(e['name'] for e in keyed)} from Secret {keyed[0]['valueFrom']['secretKeyRef'].get('name')}",
                               "long-lived keys in the cluster leak and never rotate", "use IRSA or EKS Pod Identity for S3 access"))
    return out


def _hpa_floor(inv: Inventory, d: Obj) -> list[Finding]:
    out = []
    for h in inv.of_kind("HorizontalPodAutoscaler"):
        target = ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
        if target != (d.get("metadata") or {}).get("name") or not inv.node_groups or any(is_karpenter(c) for _, c in inv.containers("Deployment")):
            continue  # with Karpenter the replicas' room is its NodePools', not the groups' sizes
        request = sum(millicores(((c.get("resources") or {}).get("requests") or {}).get("cpu", 0)) for c in containers(d))
        per_node = [(g, allocatable(lookup(g.instance_types[0]))[0]) for g in inv.node_groups if g.spot and g.instance_types and g.instance_types[0] in INSTANCE_TYPES]
        fits = sum(g.max_size * (cpu // request if request else 0) for g, cpu in per_node)
        floor = int((h.get("spec") or {}).get("minReplicas", 1))
        if request and floor > fits:
            out.append(Finding("hpa-min-exceeds-spot", Level.ERROR, name_of(h), f"minReplicas {floor} but the Spot groups hold at most {fits} replicas",
                               "replicas stay Pending even at full Spot capacity", "raise the Spot groups' max size or lower minReplicas"))
    return out
