"""Which account a request's access key belongs to, looked up in the simulator's own partition.

moto answers every request as the account that owns its access key (`get_account_id_from`, asked
by each response class's setup): it looks the key up in IAM in every partition moto knows (aws,
aws-cn, aws-us-gov, aws-iso, ...).  Each IAM backend it reaches for the first time is made there
and then, with all of AWS's managed policies parsed into it: five partitions a simulator never
serves, on its first AWS request (0.3 of the 1.3 CPU seconds a forked simulator spent provisioning
the hardened profile).

A simulator serves one region, so one partition: access keys exist only there (CreateAccessKey
reaches IAM through the simulator's endpoint and region), and the lookup finds the same account
looking there alone.  An unknown key is the default account, as in moto."""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam import models as iam_models
from moto.utilities.utils import get_partition

from cluster.sim.aws.moto_patches import MotoPatches


def account_of(access_key: str, partition: str) -> str:
    """The account whose IAM in `partition` holds `access_key`; the default account otherwise."""
    for account_id, account in list(iam_models.iam_backends.items()):
        if access_key in account[partition].access_keys:
            return account_id
    return DEFAULT_ACCOUNT_ID


def install(patches: MotoPatches, region: str) -> None:
    partition = get_partition(region)
    patches.replace(iam_models, "get_account_id_from", lambda access_key: account_of(access_key, partition))
