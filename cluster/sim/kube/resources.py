"""The resource types the simulated API server serves, as discovery shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    crd: bool = False  # a custom resource: served only while its CustomResourceDefinition is installed
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
    ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, ("crd", "crds"), True, ("status",),
                 ("api-extensions",), bump_generation=True),
    # Karpenter's kinds (karpenter.sh/v1, karpenter.k8s.aws/v1), known to the simulated Karpenter
    # (addons/karpenter.py) and served once their CRDs are installed (cluster/manifests/karpenter_crds)
    ResourceType("karpenter.sh", "v1", "NodePool", "nodepools", False, (), True, ("status",), ("karpenter",), bump_generation=True, crd=True),
    ResourceType("karpenter.sh", "v1", "NodeClaim", "nodeclaims", False, (), True, ("status",), ("karpenter",), bump_generation=True, crd=True),
    ResourceType("karpenter.k8s.aws", "v1", "EC2NodeClass", "ec2nodeclasses", False, ("ec2nc", "ec2ncs"), True, ("status",), ("karpenter",),
                 bump_generation=True, crd=True),
)

# Kinds not stored but accepted as request bodies.
EVICTION_API_VERSIONS = ("policy/v1", "policy/v1beta1")


class Registry:
    """Looks resource types up by (group, version, plural) as URLs name them, or by kind.  The
    built-in types are always served; a custom resource's type only while its CRD is installed
    (`install`, `uninstall`): the lookups clients reach (`lookup`, `groups`, `in_group_version`,
    `served`) see only what is served, the simulator's own (`by_kind`, `by_key`, `resources`) every
    type it knows.  One registry per API server: installing a CRD changes it."""

    def __init__(self, resources: tuple[ResourceType, ...] = RESOURCES) -> None:
        self.resources: list[ResourceType] = list(resources)
        self._by_path = {(r.group, r.version, r.plural): r for r in resources}
        self._by_kind = {r.kind: r for r in resources}
        self._by_key = {r.key: r for r in resources}
        self._installed: set[str] = set()
        self.schemas: dict[str, dict[str, Any]] = {}  # a custom type's key -> its CRD's schema
        self.generation = 0  # counts installs and uninstalls (what is served changed)

    def is_served(self, r: ResourceType) -> bool:
        return not r.crd or r.key in self._installed

    def served(self) -> list[ResourceType]:
        return [r for r in self.resources if self.is_served(r)]

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        r = self._by_path.get((group, version, plural))
        return r if r is not None and self.is_served(r) else None

    def by_kind(self, kind: str) -> ResourceType:
        return self._by_kind[kind]

    def by_key(self, key: str) -> ResourceType:
        return self._by_key[key]

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.served():
            versions = out.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self.served() if r.group == group and r.version == version]

    def install(self, r: ResourceType, schema: dict[str, Any] | None) -> ResourceType:
        """Serve a CRD's type: the known one of that key (Karpenter's) or `r`; returns it."""
        known = self._by_key.get(r.key)
        if known is None or (known.version, known.namespaced) != (r.version, r.namespaced):
            if known is not None:
                self.resources.remove(known)
                self._by_path.pop((known.group, known.version, known.plural), None)
            self.resources.append(r)
            self._by_path[(r.group, r.version, r.plural)] = r
            self._by_key[r.key] = r
            if known is not None and self._by_kind.get(known.kind) is known:
                self._by_kind[r.kind] = r
            else:
                self._by_kind.setdefault(r.kind, r)
            known = r
        if schema is not None:
            self.schemas[r.key] = schema
        self._installed.add(r.key)
        self.generation += 1
        return known

    def uninstall(self, key: str) -> ResourceType | None:
        self._installed.discard(key)
        self.schemas.pop(key, None)
        self.generation += 1
        return self._by_key.get(key)
