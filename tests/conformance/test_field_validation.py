"""Plain `kubectl apply` against the simulator without `--validate=false`: the OpenAPI v3
documents tell kubectl the server validates fields itself, so it sends fieldValidation and needs
no /openapi/v2 download (it failed with "failed to download openapi" before).  An unknown field is
refused with the API server's strict-decoding error, or only warned about with --validate=warn;
`kubectl explain` reads the release's schemas from the same documents."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import namespace

pytestmark = pytest.mark.integration


def test_kubectl_apply_validates_on_the_server(sim: Any, tmp_path: Path) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    core = sim.kube()[0]
    ns = namespace(core, "field-validation")

    def apply(name: str, extra: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"a": "1"}, **extra}))
        return subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "apply", "-f", str(path), *flags], capture_output=True, text=True,
                              timeout=60)

    good = apply("good", {})
    assert good.returncode == 0 and "configmap/good created" in good.stdout, good.stderr
    bad = apply("bad", {"dta": {"b": "2"}})
    assert bad.returncode != 0
    assert 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"' in bad.stderr, bad.stderr
    assert "bad" not in {c.metadata.name for c in core.list_namespaced_config_map(ns).items}
    warned = apply("warned", {"dta": {"b": "2"}}, "--validate=warn")
    assert warned.returncode == 0 and 'unknown field "dta"' in warned.stderr, warned.stderr
    explain = subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "explain", "deployment.spec.replicas"],
                             capture_output=True, text=True, timeout=60)
    assert explain.returncode == 0 and "FIELD: replicas <integer>" in explain.stdout and "Number of desired pods" in explain.stdout, explain.stderr
