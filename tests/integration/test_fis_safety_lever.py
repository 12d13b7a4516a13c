"""FIS's safety lever on the simulator, through boto3 and the aws CLI as on AWS: one lever
(`default`), disengaged at first; engaging stops every running experiment (they end `stopped`),
reads `engaging` until none runs and refuses changes meanwhile; an experiment started while it is
engaged ends `cancelled`; bad status, no reason or another lever id are refused with FIS's errors.
Then `spotchaos safety-lever` wraps it.  The lever is the account's: every test here releases it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from cluster.waiting import wait_for


def _wait_template(fis):
    return fis.create_experiment_template(
        description="a long wait", roleArn="arn:aws:iam::123456789012:role/fis", stopConditions=[{"source": "none"}], targets={},
        actions={"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT30M"}}})["experimentTemplate"]["id"]


def _status(fis, eid):
    return fis.get_experiment(id=eid)["experiment"]["state"]


def _lever(fis):
    return fis.get_safety_lever(id="default")["safetyLever"]


@pytest.fixture
def fis(sim):
    client = sim.aws("fis")
    yield client
    if _lever(client)["state"]["status"] != "disengaged":
        wait_for(lambda: _lever(client)["state"]["status"] == "engaged", 20, "the lever to finish engaging")
        client.update_safety_lever_state(id="default", state={"status": "disengaged", "reason": "test over"})


def test_engaging_stops_running_experiments_and_cancels_new_ones(fis):
    lever = _lever(fis)
    assert lever["id"] == "default" and lever["state"]["status"] == "disengaged" and lever["arn"].endswith(":safety-lever/default")
    template = _wait_template(fis)
    eid = fis.start_experiment(experimentTemplateId=template)["experiment"]["id"]
    # ids in FIS's form (EXT / EXP + base62), not moto's uuid4 hex
    assert re.fullmatch(r"EXT[0-9A-Za-z]{12,15}", template) and re.fullmatch(r"EXP[0-9A-Za-z]{12,15}", eid), (template, eid)
    assert fis.get_experiment(id=eid)["experiment"]["experimentTemplateId"] == template
    wait_for(lambda: _status(fis, eid)["status"] == "running", 20, "the experiment to run")

    answer = fis.update_safety_lever_state(id="default", state={"status": "engaged", "reason": "game day over"})["safetyLever"]
    assert answer["state"] == {"status": "engaging", "reason": "game day over"}  # an experiment was still running
    wait_for(lambda: _lever(fis)["state"]["status"] == "engaged", 20, "the lever to engage")
    assert _status(fis, eid)["status"] == "stopped" and "safety lever" in _status(fis, eid)["reason"]

    late = fis.start_experiment(experimentTemplateId=template)["experiment"]["id"]  # FIS takes the call, then cancels
    assert _status(fis, late)["status"] == "cancelled"
    assert all(a["state"]["status"] == "cancelled" for a in fis.get_experiment(id=late)["experiment"]["actions"].values())

    fis.update_safety_lever_state(id="default", state={"status": "disengaged", "reason": "next game day"})
    again = fis.start_experiment(experimentTemplateId=template)["experiment"]["id"]
    wait_for(lambda: _status(fis, again)["status"] == "running", 20, "experiments to run again")
    fis.stop_experiment(id=again)


def test_the_lever_refuses_what_fis_refuses(fis):
    for state, code in (({"status": "engaging", "reason": "x"}, "ValidationException"), ({"status": "engaged", "reason": ""}, "ValidationException")):
        with pytest.raises(ClientError) as exc:
            fis.update_safety_lever_state(id="default", state=state)
        assert exc.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as exc:
        fis.get_safety_lever(id="other")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_aws_cli_and_spotchaos_safety_lever_drive_it(sim, fis):
    env = {**os.environ, "AWS_ENDPOINT_URL": sim.endpoints.aws_endpoint_url, "AWS_DEFAULT_REGION": sim.endpoints.region}
    shown = subprocess.run(["aws", "fis", "get-safety-lever", "--id", "default"], capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["safetyLever"]["state"]["status"] == "disengaged"

    def spotchaos(*args):
        return subprocess.run([sys.executable, "-m", "chaos.cli", "safety-lever", *args, "--state-dir", str(sim.state_dir)],
                              capture_output=True, text=True, timeout=60)

    engaged = spotchaos("engage", "--reason", "stop everything")
    assert engaged.returncode == 0 and "engaged - stop everything" in engaged.stdout, engaged.stdout + engaged.stderr
    assert _lever(fis)["state"]["status"] == "engaged"
    missing = spotchaos("release")
    assert missing.returncode == 3 and "--reason" in missing.stderr and "Traceback" not in missing.stderr
    released = spotchaos("release", "--reason", "all clear")
    assert released.returncode == 0 and "disengaged" in released.stdout
    assert "disengaged" in spotchaos("status").stdout
