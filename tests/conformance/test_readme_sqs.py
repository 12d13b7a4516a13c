"""The README's SQS example, run as written with the awscli the test extra installs and the env
file `spotchaos sim up` writes: awscli v1 takes SQS's endpoint only from --endpoint-url, so the
line must carry it (without it the CLI goes to queue.amazonaws.com)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_the_readmes_sqs_line_puts_the_event_on_the_queue(sim: Any, tmp_path: Path) -> None:
    if shutil.which("aws") is None and not (Path(ROOT) / ".venv" / "bin" / "aws").exists():
        pytest.skip("the awscli (test extra) is not installed")
    line = next(m.group(0) for m in re.finditer(r"^aws .*sqs send-message.*$", (ROOT / "README.md").read_text(), re.M))
    sqs = sim.aws("sqs")
    queue = sqs.create_queue(QueueName="readme-example")["QueueUrl"]
    (tmp_path / "spot-warning.json").write_text('{"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning"}')
    aws_dir = str(Path(shutil.which("aws") or ROOT / ".venv" / "bin" / "aws").parent)
    script = f"set -a; . {sim.state_dir / 'env'}; set +a; export PATH={aws_dir}:$PATH QUEUE={queue}; {line.split('#')[0]}"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    assert messages and "Spot Instance Interruption Warning" in messages[0]["Body"]
