"""`sim status` and `safety-lever status` with `-o json|yaml`, against a running simulator: one
document each, matching its schema in docs/schemas/ (the unit tests cover the commands that need
no simulator)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_machine_output import _documents

pytestmark = pytest.mark.integration


def test_sim_status_and_the_safety_lever_print_their_documents(sim: Any) -> None:
    status = _documents(["sim", "status", "--state-dir", str(sim.state_dir)], "simulator-status")
    assert status["kube_api_url"] == sim.endpoints.kube_api_url and status["pid"] == sim.proc.pid
    lever = _documents(["safety-lever", "status", "--state-dir", str(sim.state_dir)], "safety-lever")
    assert lever["region"] == sim.endpoints.region and lever["state"] in ("engaged", "disengaged", "engaging")
