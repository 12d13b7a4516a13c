"""The resource types the simulated API server serves, as discovery shows them."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    has_status: bool = False
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    bump_generation: bool = False  # metadata.generation follows spec changes
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def key(self) -> str:
        """Unique name, e.g. 'pods' or 'deployments.apps'."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _core(kind: str, plural: str, namespaced: bool = True, **kw: object) -> ResourceType:
    return ResourceType("", "v1", kind, plural, namespaced, **kw)  # type: ignore[arg-type]


RESOURCES: tuple[ResourceType, ...] = (
    _core("Namespace", "namespaces", False, short_names=("ns",), has_status=True, subresources=("status", "finalize")),
    _core("Node", "nodes", False, short_names=("no",), has_status=True, subresources=("status",)),
    _core("Pod", "pods", short_names=("po",), has_status=True, subresources=("status", "eviction", "binding", "log", "exec", "attach", "portforward"), categories=("all",)),
    _core("Service", "services", short_names=("svc",), has_status=True, subresources=("status",), categories=("all",)),
    _core("Endpoints", "endpoints", short_names=("ep",)),
    _core("ConfigMap", "configmaps", short_names=("cm",)),
    _core("Secret", "secrets"),
    _core("ServiceAccount", "serviceaccounts", short_names=("sa",)),
    _core("Event", "events", short_names=("ev",)),
    ResourceType("apps", "v1", "Deployment", "deployments", True, ("deploy",), True, ("status", "scale"), ("all",), bump_generation=True),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), True, ("status", "scale"), ("all",), bump_generation=True),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), True, ("status",), ("all",), bump_generation=True),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), True, ("status", "scale"), ("all",), bump_generation=True),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), True, ("status",), bump_generation=True),
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), True, ("status",), ("all",)),
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), True, ("status",)),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ResourceType("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ("pc",)),
    ResourceType("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", False, ("csr",), True, ("status", "approval")),
    # reviews: answered, never stored (kubectl auth can-i, kubectl auth whoami); the simulator authorizes every request
    ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False, verbs=("create",)),
    # stored and served as the API server does; no controller runs them (the in-cluster runner's
    # CronJob is applied to be checked, its image is not here)
    ResourceType("batch", "v1", "CronJob", "cronjobs", True, ("cj",), True, ("status",), ("all",), bump_generation=True),
    ResourceType("batch", "v1", "Job", "jobs", True, (), True, ("status",), ("all",), bump_generation=True),
    # Karpenter's CRDs (karpenter.sh/v1, karpenter.k8s.aws/v1), served as if its chart installed them;
    # the simulated Karpenter acts on them once its controller runs (addons/karpenter.py)
    ResourceType("karpenter.sh", "v1", "NodePool", "nodepools", False, (), True, ("status",), ("karpenter",), bump_generation=True),
    ResourceType("karpenter.sh", "v1", "NodeClaim", "nodeclaims", False, (), True, ("status",), ("karpenter",), bump_generation=True),
    ResourceType("karpenter.k8s.aws", "v1", "EC2NodeClass", "ec2nodeclasses", False, ("ec2nc", "ec2ncs"), True, ("status",), ("karpenter",),
                 bump_generation=True),
)

# Kinds not stored but accepted as request bodies.
EVICTION_API_VERSIONS = ("policy/v1", "policy/v1beta1")


class Registry:
    """Looks resource types up by (group, version, plural) as URLs name them, or by kind."""

    def __init__(self, resources: tuple[ResourceType, ...] = RESOURCES) -> None:
        self.resources = resources
        self._by_path = {(r.group, r.version, r.plural): r for r in resources}
        self._by_kind = {r.kind: r for r in resources}
        self._by_key = {r.key: r for r in resources}

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, kind: str) -> ResourceType:
        return self._by_kind[kind]

    def by_key(self, key: str) -> ResourceType:
        return self._by_key[key]

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.resources:
            versions = out.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self.resources if r.group == group and r.version == version]


REGISTRY = Registry()
