"""Resource quantities come back from the simulated API server as strings, as the real one
serializes them: `cpu: 1` in a Helm chart's rendered output is "1" when read back, which the
typed clients (the Python client's models among them) require."""

from __future__ import annotations

from cluster.sim.kube.defaults import default_pod_spec, quantity_string


def test_numbers_become_quantity_strings() -> None:
    assert quantity_string(1) == "1"
    assert quantity_string(2.0) == "2"
    assert quantity_string(0.5) == "500m"
    assert quantity_string("250m") == "250m"
    assert quantity_string(True) is True  # not a quantity: validation says so


def test_a_pod_specs_requests_and_limits_are_strings() -> None:
    spec = {"initContainers": [{"name": "init", "resources": {"limits": {"memory": 1073741824}}}],
            "containers": [{"name": "controller", "resources": {"requests": {"cpu": 1, "memory": "1Gi"}, "limits": {"cpu": 1, "memory": "1Gi"}}}]}
    default_pod_spec(spec)
    assert spec["containers"][0]["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    assert spec["initContainers"][0]["resources"]["limits"]["memory"] == "1073741824"
