"""Server-side apply with kubectl against the simulator: `kubectl apply --server-side` creates an
object that does not exist yet (it answered 404), records its field manager in managedFields,
reports a conflict when a second manager sets a field another owns to another value, and hands
the field over with --force-conflicts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import namespace

pytestmark = pytest.mark.integration


def _owners(core: Any, ns: str) -> dict[str, set[str]]:
    cm = core.read_namespaced_config_map("settings", ns)
    return {m.manager: set((m.fields_v1 or {}).get("f:data", {})) for m in cm.metadata.managed_fields or []}


def test_apply_server_side_creates_tracks_managers_and_reports_conflicts(sim: Any, tmp_path: Path) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    core = sim.kube()[0]
    ns = namespace(core, "server-side-apply")

    def apply(data: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "cm.yaml"
        path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns}, "data": data}))
        return subprocess.run(["kubectl", "--kubeconfig", sim.endpoints.kubeconfig, "apply", "--server-side", "-f", str(path), *flags],
                              capture_output=True, text=True, timeout=60)

    created = apply({"mode": "drain", "grace": "120"})
    assert created.returncode == 0 and "serverside-applied" in created.stdout, created.stdout + created.stderr
    assert core.read_namespaced_config_map("settings", ns).data == {"mode": "drain", "grace": "120"}
    assert _owners(core, ns) == {"kubectl": {"f:mode", "f:grace"}}

    same = apply({"mode": "drain"}, "--field-manager=gameday")  # the same value: no conflict, both own it
    assert same.returncode == 0, same.stderr
    conflicted = apply({"mode": "cordon-only"}, "--field-manager=gameday")
    assert conflicted.returncode != 0 and 'conflict with "kubectl"' in conflicted.stderr and ".data.mode" in conflicted.stderr, conflicted.stderr
    assert core.read_namespaced_config_map("settings", ns).data["mode"] == "drain"  # nothing changed

    forced = apply({"mode": "cordon-only"}, "--field-manager=gameday", "--force-conflicts")
    assert forced.returncode == 0, forced.stderr
    assert core.read_namespaced_config_map("settings", ns).data["mode"] == "cordon-only"
    owners = _owners(core, ns)
    assert "f:mode" in owners["gameday"] and "f:mode" not in owners["kubectl"] and "f:grace" in owners["kubectl"]
