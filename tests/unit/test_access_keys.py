"""A request's account is found from its access key in the simulator's partition alone: the same
account as moto finds, without making (and filling with AWS's managed policies) an IAM for every
partition moto knows on a simulator's first request.  Over real HTTP to moto's server."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends

from cluster.sim.aws import access_keys
from cluster.sim.aws.moto_patches import MotoPatches
from cluster.sim.aws.moto_server import MotoServer


@pytest.fixture
def moto_url() -> Iterator[str]:
    iam_backends.reset()  # no IAM made yet in any partition, as in a fresh simulator
    patches = MotoPatches()
    access_keys.install(patches, "us-east-1")
    server = MotoServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        patches.restore()
        iam_backends.reset()


def _client(service: str, url: str, key: str = "testing", secret: str = "testing") -> object:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret)


def test_an_access_key_is_its_accounts_and_only_the_simulators_partition_is_made(moto_url: str) -> None:
    iam = _client("iam", moto_url)
    iam.create_user(UserName="runner")  # type: ignore[attr-defined]
    made = iam.create_access_key(UserName="runner")["AccessKey"]  # type: ignore[attr-defined]
    as_user = _client("sts", moto_url, made["AccessKeyId"], made["SecretAccessKey"])
    identity = as_user.get_caller_identity()  # type: ignore[attr-defined]
    assert identity["Account"] == DEFAULT_ACCOUNT_ID and identity["Arn"].endswith(":user/runner")
    assert access_keys.account_of(made["AccessKeyId"], "aws") == DEFAULT_ACCOUNT_ID
    assert access_keys.account_of("AKIAUNKNOWN000000000", "aws") == DEFAULT_ACCOUNT_ID
    # moto's own lookup made an IAM (and parsed AWS's managed policies) in each of its partitions
    assert set(iam_backends[DEFAULT_ACCOUNT_ID].keys()) == {"aws"}
