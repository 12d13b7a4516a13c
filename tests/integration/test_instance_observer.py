"""The run's instance observer (chaos/aws/observers.py) on the simulator's EC2, through boto3:
its full scan asks only for instances not yet terminated (terminated ones stay visible about an
hour, most of a busy account's answer), yet an instance that terminates unwatched is still
journaled terminated (read again by its id), and one never seen alive is not journaled at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos.aws.observers import Instances
from chaos.clock import RunClock
from chaos.journal import Journal, read_journal
from chaos.journal.records import ExperimentRecord

pytestmark = pytest.mark.integration

CLUSTER = "observed-instances"


def _launch(ec2: Any, count: int) -> list[str]:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": f"kubernetes.io/cluster/{CLUSTER}", "Value": "owned"}]}]
    return [i["InstanceId"] for i in ec2.run_instances(ImageId=image, InstanceType="m5.large", MinCount=count, MaxCount=count, TagSpecifications=tags)["Instances"]]


def test_the_full_scan_skips_the_terminated_and_still_journals_a_termination(sim: Any, tmp_path: Path) -> None:
    ec2 = sim.aws("ec2")
    before = _launch(ec2, 1)
    ec2.terminate_instances(InstanceIds=before)  # a previous run's: terminated before this run looked
    alive, ending = _launch(ec2, 2)
    journal = Journal(tmp_path / "journal.jsonl", RunClock())
    journal.write(ExperimentRecord(name="instance-observer"))
    calls: list[dict[str, Any]] = []
    ec2.meta.events.register("provide-client-params.ec2.DescribeInstances", lambda params, **_: calls.append(params))
    observer = Instances(ec2, journal, CLUSTER, full_scan_every=1)
    observer()
    ec2.terminate_instances(InstanceIds=[ending])  # not among the watched: only a full scan sees it
    observer()
    journal.close()
    states = [(r.instance, r.state) for r in read_journal(journal.path) if getattr(r, "kind", "") == "instance"]
    assert (alive, "running") in states and (ending, "running") in states and (ending, "terminated") in states
    assert not any(i == before[0] for i, _ in states)
    full = [c for c in calls if any(f["Name"] == "tag-key" for f in c.get("Filters", []))]
    assert full and all({"Name": "instance-state-name", "Values": Instances.ALIVE} in c["Filters"] for c in full)
