"""An instance profile role's credentials as STS issues them to the instance (what IMDS hands
out under iam/security-credentials/ROLE): a session of the role named after the instance, so
that `sts get-caller-identity` with them answers
arn:aws:sts::ACCOUNT:assumed-role/ROLE/i-..., as on EC2.  Made through moto's STS model (call
it under the moto lock)."""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from cluster.sim.aws.moto_server import ACCOUNT_ID


def assume_instance_role(region: str, role: str, instance_id: str, seconds: int) -> Any:
    """A new session; the expired ones are forgotten (moto keeps every session it issued, and
    looks a caller's key up through all of them)."""
    partition = get_partition(region)
    sts = sts_backends[ACCOUNT_ID][partition]
    now = utcnow()
    sts.assumed_roles = [r for r in sts.assumed_roles if r.expiration > now]
    return sts.assume_role(
        region_name=region, role_session_name=instance_id, role_arn=f"arn:{partition}:iam::{ACCOUNT_ID}:role/{role}",
        policy="", duration=seconds, external_id="")
