"""CustomResourceDefinitions as apiextensions-apiserver treats them (cluster/sim/kube/crds.py)."""

from __future__ import annotations

import copy

from cluster.manifests.karpenter import crds as karpenter_crds
from cluster.sim.kube import crds
from cluster.sim.kube.resources import Registry

GOOD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "kits.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "kits", "kind": "Kit", "shortNames": ["kt"]},
                 "versions": [{"name": "v1beta1", "served": True, "storage": False}, {"name": "v1", "served": True, "storage": True,
                              "subresources": {"status": {}}, "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}}]}}


def _errors(change: dict) -> list[str]:
    crd = copy.deepcopy(GOOD)
    for path, value in change.items():
        *parents, leaf = path.split(".")
        node = crd
        for p in parents:
            node = node[p]
        node[leaf] = value
    return [f"{e.field}: {e.message}" for e in crds.errors(crd)]


def test_the_api_servers_rules_name_the_field() -> None:
    assert _errors({}) == []
    assert _errors({"metadata.name": "kit.example.com"}) == ['metadata.name: Invalid value: "kit.example.com": must be spec.names.plural+"."+spec.group']
    assert _errors({"spec.group": "example", "metadata.name": "kits.example"}) == ['spec.group: Invalid value: "example": should be a domain with at least one dot']
    assert _errors({"spec.scope": "Global"}) == ['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']
    assert _errors({"spec.versions": [{"name": "v1", "storage": False}]}) == ["spec.versions: Invalid value: must have exactly one version marked as storage version"]
    assert "spec.names.kind: Required value" in _errors({"spec.names": {"plural": "kits"}})


def test_established_with_its_names_and_storage_version_served() -> None:
    crd = crds.with_status(GOOD, "2026-01-01T00:00:00Z")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]} == {"NamesAccepted": "True", "Established": "True"}
    assert crd["status"]["acceptedNames"] == {"plural": "kits", "kind": "Kit", "shortNames": ["kt"], "singular": "kit", "listKind": "KitList"}
    assert crd["status"]["storedVersions"] == ["v1"]
    again = crds.with_status(crd, "2026-01-02T00:00:00Z", old=crd)  # an update keeps the transition times
    assert again["status"]["conditions"][1]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    rt = crds.resource_type(GOOD)
    assert (rt.group, rt.version, rt.kind, rt.plural, rt.namespaced, rt.short_names, rt.subresources, rt.crd) == \
        ("example.com", "v1", "Kit", "kits", True, ("kt",), ("status",), True)
    assert crds.definition_name(rt) == "com.example.v1.Kit"


def test_a_registry_serves_a_custom_kind_only_while_installed() -> None:
    registry = Registry()
    nodepool = registry.by_kind("NodePool")
    assert registry.lookup("karpenter.sh", "v1", "nodepools") is None and "karpenter.sh" not in registry.groups()
    for crd in karpenter_crds():
        assert crds.errors(crd) == []
        registry.install(crds.resource_type(crd), crds.schema(crd))
    assert registry.lookup("karpenter.sh", "v1", "nodepools") is nodepool  # the simulator's own type, now served
    assert "disruption" in registry.schemas["nodepools.karpenter.sh"]["properties"]["spec"]["properties"]
    registry.install(crds.resource_type(GOOD), None)
    assert registry.lookup("example.com", "v1", "kits") is not None and registry.by_kind("Kit").plural == "kits"
    registry.uninstall("kits.example.com")
    assert registry.lookup("example.com", "v1", "kits") is None
