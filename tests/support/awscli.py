"""The AWS CLI against a simulator, as a user runs it: its endpoint and region from the
environment, one attempt (a refusal shows at once, not after the CLI's retries)."""

from __future__ import annotations

import os
import subprocess
from typing import Any


def aws(sim: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": sim.endpoints.aws_endpoint_url, "AWS_DEFAULT_REGION": sim.endpoints.region, "AWS_MAX_ATTEMPTS": "1"}
    return subprocess.run(["aws", *args], capture_output=True, text=True, env=env, timeout=60)
