"""CustomResourceDefinitions as on EKS, through kubectl: a kind is served only once its CRD is
installed (and stops with it, its objects gone), the CRD is Established, `kubectl get crd` lists it
with the real columns, `kubectl explain` reads the CRD's schema, an invalid CRD is refused naming
the field; Karpenter's own CRDs (the chart's crds/) install and explain."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

KARPENTER_CRDS = Path(__file__).resolve().parents[2] / "cluster" / "manifests" / "karpenter_crds"
WIDGETS = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.conformance.example.com}
spec:
  group: conformance.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              description: What the widget should be.
              properties:
                size: {type: integer, description: How many sprockets the widget turns.}
"""


def _kubectl(sim: Any, *args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, *args], capture_output=True, text=True, timeout=60, input=stdin)
    assert (out.returncode == 0) == ok, (args, out.stdout, out.stderr)
    return out


def test_a_kind_is_served_while_its_crd_is_installed(sim: Any) -> None:
    assert "doesn't have a resource type" in _kubectl(sim, "get", "widgets", ok=False).stderr
    _kubectl(sim, "apply", "-f", "-", stdin=WIDGETS)
    _kubectl(sim, "wait", "--for=condition=Established", "crd/widgets.conformance.example.com", "--timeout=20s")
    listed = _kubectl(sim, "get", "crd", "widgets.conformance.example.com").stdout.splitlines()
    assert listed[0].split() == ["NAME", "CREATED", "AT"] and listed[1].startswith("widgets.conformance.example.com ")
    accepted = _kubectl(sim, "get", "crd", "widgets.conformance.example.com", "-o", "jsonpath={.status.acceptedNames.kind} {.status.storedVersions}").stdout
    assert accepted == 'Widget ["v1"]'

    _kubectl(sim, "create", "namespace", "crd-conformance")
    _kubectl(sim, "apply", "-n", "crd-conformance", "-f", "-",
             stdin="apiVersion: conformance.example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n")
    assert _kubectl(sim, "get", "wdg", "-n", "crd-conformance", "-o", "jsonpath={.items[*].spec.size}").stdout == "3"
    explained = _kubectl(sim, "explain", "widget.spec").stdout
    assert "What the widget should be." in explained and "How many sprockets" in explained
    assert "widgets" in _kubectl(sim, "api-resources", "--api-group=conformance.example.com").stdout

    _kubectl(sim, "delete", "crd", "widgets.conformance.example.com")
    # kubectl's cached discovery may still name the kind: then the server's 404, as from a real one
    gone = _kubectl(sim, "get", "widgets", "-n", "crd-conformance", ok=False).stderr
    assert "doesn't have a resource type" in gone or "the server could not find the requested resource" in gone
    _kubectl(sim, "apply", "-f", "-", stdin=WIDGETS)  # installed again: the old widget went with its CRD
    assert _kubectl(sim, "get", "widgets", "-n", "crd-conformance", "-o", "name").stdout == ""
    _kubectl(sim, "delete", "crd", "widgets.conformance.example.com")


def test_an_invalid_crd_is_refused_naming_the_field(sim: Any) -> None:
    bad = WIDGETS.replace("name: widgets.conformance.example.com", "name: gadgets.conformance.example.com")
    refused = _kubectl(sim, "apply", "-f", "-", stdin=bad, ok=False).stderr
    assert 'metadata.name: Invalid value: "gadgets.conformance.example.com": must be spec.names.plural+"."+spec.group' in refused
    no_storage = WIDGETS.replace("storage: true", "storage: false")
    assert "must have exactly one version marked as storage version" in _kubectl(sim, "apply", "-f", "-", stdin=no_storage, ok=False).stderr


def test_karpenters_crds_install_and_explain(sim: Any) -> None:
    _kubectl(sim, "apply", "--server-side", "-f", str(KARPENTER_CRDS))
    names = _kubectl(sim, "get", "crd", "-o", "name").stdout.split()
    assert {"customresourcedefinition.apiextensions.k8s.io/nodepools.karpenter.sh", "customresourcedefinition.apiextensions.k8s.io/nodeclaims.karpenter.sh",
            "customresourcedefinition.apiextensions.k8s.io/ec2nodeclasses.karpenter.k8s.aws"} <= set(names)
    explained = _kubectl(sim, "explain", "nodepool.spec.disruption").stdout
    assert "consolidationPolicy" in explained and "consolidateAfter" in explained
    assert "amiSelectorTerms" in _kubectl(sim, "explain", "ec2nodeclass.spec").stdout
    _kubectl(sim, "get", "nodepools")  # served: an empty list, not "doesn't have a resource type"
