"""Karpenter as its Helm chart and getting-started guide install it (the parts that matter here):
the controller Deployment in kube-system with its settings as env vars (CLUSTER_NAME,
INTERRUPTION_QUEUE, BATCH_*), its IRSA service account and RBAC, the default EC2NodeClass
(AL2023, subnets and security groups found by the `karpenter.sh/discovery` tag) and the NodePool
that holds the serving pods.  The chart's values for a real install are `helm_values`.
Sources: karpenter-provider-aws charts/karpenter (values.yaml, templates/deployment.yaml) and
website/.../getting-started-with-karpenter; NodePool and EC2NodeClass fields from
pkg/apis/v1 (kubernetes-sigs/karpenter, karpenter-provider-aws)."""

from __future__ import annotations

from importlib import resources as package_files
from typing import Any

import yaml

from cluster import resource_names as names
from cluster.manifests.identity import service_account
from cluster.profiles import ClusterProfile, KarpenterProfile

NAME = "karpenter"
NAMESPACE = "kube-system"
IMAGE = "public.ecr.aws/karpenter/controller"
NODEPOOL = "serving-spot"
NODECLASS = "default"
DISCOVERY_TAG = "karpenter.sh/discovery"
CRD_KINDS = ("NodePool", "EC2NodeClass", "NodeClaim")
CRD_FILES = ("karpenter.sh_nodepools", "karpenter.sh_nodeclaims", "karpenter.k8s.aws_ec2nodeclasses")
CRD_GROUPS = ("karpenter.sh", "karpenter.k8s.aws")
Obj = dict[str, Any]

RULES = [
    (["karpenter.sh"], ["nodepools", "nodepools/status", "nodeclaims", "nodeclaims/status"], ["get", "list", "watch", "create", "update", "patch", "delete"]),
    (["karpenter.k8s.aws"], ["ec2nodeclasses", "ec2nodeclasses/status"], ["get", "list", "watch", "update", "patch"]),
    ([""], ["nodes"], ["get", "list", "watch", "update", "patch", "delete"]),
    ([""], ["pods", "namespaces", "persistentvolumes", "persistentvolumeclaims", "replicationcontrollers"], ["get", "list", "watch"]),
    ([""], ["pods/eviction"], ["create"]),
    ([""], ["pods"], ["delete"]),
    ([""], ["events"], ["create", "patch"]),
    (["apps"], ["daemonsets", "deployments", "replicasets", "statefulsets"], ["get", "list", "watch"]),
    (["policy"], ["poddisruptionbudgets"], ["get", "list", "watch"]),
    (["storage.k8s.io"], ["storageclasses", "csinodes", "volumeattachments"], ["get", "list", "watch"]),
    (["coordination.k8s.io"], ["leases"], ["get", "list", "watch", "create", "update", "patch", "delete"]),
]


def crds() -> list[Obj]:
    """Karpenter's CustomResourceDefinitions (NodePool, NodeClaim, EC2NodeClass), as the chart's
    crds/ directory installs them (karpenter_crds/, verbatim from the release)."""
    folder = package_files.files("cluster.manifests") / "karpenter_crds"
    return [yaml.safe_load(folder.joinpath(f"{name}.yaml").read_text()) for name in CRD_FILES]


def env(profile: ClusterProfile) -> dict[str, str]:
    kp = profile.karpenter
    assert kp is not None
    values = {"CLUSTER_NAME": profile.name, "BATCH_MAX_DURATION": "10s", "BATCH_IDLE_DURATION": "1s",
              "FEATURE_GATES": "ReservedCapacity=true,SpotToSpotConsolidation=false"}
    if kp.interruption_queue:
        values["INTERRUPTION_QUEUE"] = names.karpenter_queue_name(profile.name)
    return values | kp.settings


def controller(profile: ClusterProfile, account: str, node_selector: dict[str, str]) -> list[Obj]:
    kp = profile.karpenter
    assert kp is not None
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
    container = {"name": "controller", "image": f"{IMAGE}:{kp.version}",
                 "env": [{"name": k, "value": v} for k, v in env(profile).items()],
                 "ports": [{"name": "http-metrics", "containerPort": 8080}, {"name": "http", "containerPort": 8081}],
                 "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}
    rbac = "rbac.authorization.k8s.io/v1"
    subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    return [
        service_account(NAME, NAMESPACE, names.role_arn(account, profile.name, names.KARPENTER_ROLE)),
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": NAME}, "rules": [{"apiGroups": g, "resources": r, "verbs": v} for g, r, v in RULES]},
        {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": NAME},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME}, "subjects": subject},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(labels)},
         "spec": {"replicas": 2, "selector": {"matchLabels": dict(labels)}, "template": {
             "metadata": {"labels": dict(labels)},
             "spec": {"serviceAccountName": NAME, "priorityClassName": "system-cluster-critical", "nodeSelector": dict(node_selector),
                      "containers": [container]}}}},
    ]


def node_class(profile: ClusterProfile) -> Obj:
    discovery = [{"tags": {DISCOVERY_TAG: profile.name}}]
    return {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": NODECLASS},
            "spec": {"role": names.role_name(profile.name, names.NODE_ROLE), "amiSelectorTerms": [{"alias": "al2023@latest"}],
                     "subnetSelectorTerms": discovery, "securityGroupSelectorTerms": discovery,
                     "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                     "tags": {**profile.tags, DISCOVERY_TAG: profile.name}}}


def requirements(kp: KarpenterProfile, azs: list[str]) -> list[Obj]:
    reqs: list[Obj] = [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(kp.capacity_types)},
                       {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                       {"key": "topology.kubernetes.io/zone", "operator": "In", "values": list(azs)}]
    if kp.instance_types:
        reqs.append({"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(kp.instance_types)})
    else:
        reqs += [{"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": list(kp.instance_categories)},
                 {"key": "karpenter.k8s.aws/instance-cpu", "operator": "In", "values": [str(c) for c in kp.instance_cpus]},
                 {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["3"]}]
    return reqs


def node_pool(profile: ClusterProfile, labels: dict[str, str]) -> Obj:
    kp = profile.karpenter
    assert kp is not None
    template_spec: Obj = {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODECLASS},
                          "requirements": requirements(kp, profile.azs), "expireAfter": "720h"}
    if kp.termination_grace_period:
        template_spec["terminationGracePeriod"] = kp.termination_grace_period
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": NODEPOOL},
            "spec": {"template": {"metadata": {"labels": dict(labels)}, "spec": template_spec},
                     "disruption": {"consolidationPolicy": kp.consolidation_policy, "consolidateAfter": kp.consolidate_after,
                                    "budgets": [{"nodes": kp.budget_nodes}]},
                     "limits": {"cpu": str(kp.cpu_limit)}}}


def helm_values(profile: ClusterProfile, account: str) -> Obj:
    """The chart's values for `helm upgrade --install karpenter oci://public.ecr.aws/karpenter/karpenter`."""
    kp = profile.karpenter
    assert kp is not None
    return {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": names.role_arn(account, profile.name, names.KARPENTER_ROLE)}},
            "settings": {"clusterName": profile.name, "interruptionQueue": names.karpenter_queue_name(profile.name) if kp.interruption_queue else "",
                         "batchMaxDuration": "10s", "batchIdleDuration": "1s"},
            "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
            "nodeSelector": {"lifecycle": "OnDemand"}, "replicas": 2}


def check(obj: Obj) -> None:
    """The fields of our NodePool and EC2NodeClass the CRDs' schemas constrain (kubernetes-validate
    has no schema for custom resources); ValueError names the field."""
    spec = obj.get("spec") or {}
    where = f"{obj['kind']} {obj['metadata']['name']}"
    if obj["kind"] == "EC2NodeClass":
        for field in ("role", "amiSelectorTerms", "subnetSelectorTerms", "securityGroupSelectorTerms"):
            if not spec.get(field):
                raise ValueError(f"{where}: spec.{field} is required")
    if obj["kind"] == "NodePool":
        tspec = spec["template"]["spec"]
        if not tspec.get("nodeClassRef", {}).get("name"):
            raise ValueError(f"{where}: spec.template.spec.nodeClassRef.name is required")
        for r in tspec.get("requirements") or []:
            if r["operator"] not in ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"):
                raise ValueError(f"{where}: requirement {r['key']}: operator {r['operator']} is not one of In, NotIn, Exists, DoesNotExist, Gt, Lt")
