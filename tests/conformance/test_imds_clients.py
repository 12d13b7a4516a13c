"""Each instance's metadata service as real clients use it: botocore's own IMDS fetchers (the
region and the instance-profile credentials that boto3 reads on an EC2 node) work against it
unchanged; leaves answer with or without a trailing slash; `/` lists the versions; the network,
security-group, instance-action, services and instance-tag paths exist; everything is text/plain;
and an IMDSv2 token lives its TTL in real seconds whatever the cluster's speed."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.utils import InstanceMetadataFetcher, InstanceMetadataRegionFetcher

from cluster.waiting import wait_for
from tests.integration.helpers import node_group, wait_ready_nodes
from tests.integration.spot_helpers import control, instance_of

pytestmark = pytest.mark.integration


def _get(url: str, token: str | None = None) -> tuple[int, str, str]:
    req = urllib.request.Request(url, headers={"X-aws-ec2-metadata-token": token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def _token(url: str, ttl: int) -> str:
    req = urllib.request.Request(url + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.read().decode()


@pytest.fixture(scope="session")  # once per worker: xdist may hand this module's tests to a worker twice over
def imds(sim: Any) -> tuple[str, str, Any]:
    core = sim.kube()[0]
    node_group(sim, "imds-clients", ("m5.large",), desired=1)
    node = wait_ready_nodes(core, "imds-clients", 1, 60)[0]
    iid = instance_of(node)
    listing = control(sim, "/v1/instances")[1]
    return next(i["metadata_url"] for i in listing["instances"] if i["instance_id"] == iid), iid, node


def test_botocores_own_fetchers_read_the_region_and_the_node_roles_credentials(sim: Any, imds: tuple[str, str, Any]) -> None:
    url, _, node = imds
    region = InstanceMetadataRegionFetcher(base_url=url + "/", num_attempts=2).retrieve_region()
    assert region == node.metadata.labels["topology.kubernetes.io/region"]
    creds = InstanceMetadataFetcher(base_url=url + "/", num_attempts=2).retrieve_iam_role_credentials()
    assert creds["role_name"] and creds["access_key"].startswith("ASIA") and creds["secret_key"] and creds["token"]
    assert creds["expiry_time"].endswith("Z")
    # issued by STS to the instance: the caller is a session of the node's role named after the instance
    sts = boto3.client("sts", endpoint_url=sim.endpoints.aws_endpoint_url, region_name=region, aws_access_key_id=creds["access_key"],
                       aws_secret_access_key=creds["secret_key"], aws_session_token=creds["token"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::123456789012:assumed-role/{creds['role_name']}/{instance_of(node)}"


def test_paths_listings_and_content_type_as_imds(imds: tuple[str, str, Any]) -> None:
    url, iid, _ = imds
    assert _get(url + "/latest/meta-data/instance-id/") == (200, "text/plain", iid)  # a leaf with a trailing slash
    status, ctype, versions = _get(url + "/")
    assert status == 200 and versions.splitlines()[0] == "1.0" and versions.splitlines()[-1] == "latest"
    assert _get(url + "/latest/meta-data/instance-action")[2] == "none"
    mac = _get(url + "/latest/meta-data/mac")[2]
    assert _get(url + "/latest/meta-data/network/interfaces/macs/")[2] == mac + "/"
    assert _get(url + f"/latest/meta-data/network/interfaces/macs/{mac}/device-number")[2] == "0"
    assert _get(url + f"/latest/meta-data/network/interfaces/macs/{mac}/subnet-id")[2].startswith("subnet-")
    assert _get(url + "/latest/meta-data/services/partition")[2] == "aws"
    status, ctype, document = _get(url + "/latest/dynamic/instance-identity/document")
    assert (status, ctype) == (200, "text/plain") and f'"instanceId": "{iid}"' in document  # JSON, served as text/plain
    assert _get(url + "/latest/meta-data/tags/instance")[0] == 404  # instance tags in metadata are off by default


def test_instance_tags_appear_once_enabled_and_go_once_disabled(sim: Any, imds: tuple[str, str, Any]) -> None:
    url, iid, _ = imds
    ec2 = sim.aws("ec2")
    ec2.modify_instance_metadata_options(InstanceId=iid, InstanceMetadataTags="enabled")
    try:
        status, _, keys = _get(url + "/latest/meta-data/tags/instance")
        assert status == 200 and "aws:autoscaling:groupName" in keys.splitlines()
        group = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}, {"Name": "key", "Values": ["aws:autoscaling:groupName"]}])
        assert _get(url + "/latest/meta-data/tags/instance/aws:autoscaling:groupName")[2] == group["Tags"][0]["Value"]
        assert "tags/" in _get(url + "/latest/meta-data/")[2].splitlines()  # the listing shows them too
    finally:  # the module's other tests share this instance (xdist may run them after this one)
        ec2.modify_instance_metadata_options(InstanceId=iid, InstanceMetadataTags="disabled")
    assert _get(url + "/latest/meta-data/tags/instance")[0] == 404
    assert "tags/" not in _get(url + "/latest/meta-data/")[2].splitlines()


def test_a_token_lives_its_ttl_in_real_seconds_at_any_cluster_speed(imds: tuple[str, str, Any]) -> None:
    url, iid, _ = imds
    issued = time.monotonic()
    token = _token(url, 2)
    assert _get(url + "/latest/meta-data/instance-id", token)[0] == 200
    wait_for(lambda: _get(url + "/latest/meta-data/instance-id", token)[0] == 401, 10, "the token to expire")
    # at speed 20 a TTL counted in cluster seconds would have run out after a tenth of a second
    assert time.monotonic() - issued >= 1.5
