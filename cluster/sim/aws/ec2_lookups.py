"""EC2 lookups by id that do not grow with the account: moto finds an instance by copying every
reservation and scanning them (`get_instance`, called once per instance launched, while it
attaches the root volume), and an AMI by filtering every image it knows (`describe_images` with an
image-id filter, once per instance made).  Launching thousands of instances was quadratic, all
under the one lock that serves every AWS request (bench/sim_scale.py: 63 % of a 5,000-node
launch).  Here an instance is found newest reservation first without copies (the one being
launched is the last), and an image by its id.  Same answers, same errors."""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import InvalidInstanceIdError
from moto.ec2.models.amis import AmiBackend
from moto.ec2.models.instances import InstanceBackend

from cluster.sim.aws.moto_patches import MotoPatches


def find_instance(ec2: Any, instance_id: str) -> Any | None:
    """The instance with this id (terminated ones too, while EC2 shows them), or None."""
    for reservation in reversed(ec2.reservations.values()):
        for instance in reservation.instances:
            if instance.id == instance_id:
                return instance
    return None


def install(patches: MotoPatches) -> None:
    describe_images = AmiBackend.describe_images

    def get_instance(self: InstanceBackend, instance_id: str) -> Any:
        instance = find_instance(self, instance_id)
        if instance is None:
            raise InvalidInstanceIdError(instance_id)
        return instance

    def images(self: AmiBackend, ami_ids: list[str] | None = None, filters: Any = None, exec_users: list[str] | None = None,
               owners: list[str] | None = None) -> list[Any]:
        if not ami_ids and not exec_users and not owners and isinstance(filters, dict) and set(filters) == {"image-id"} \
                and isinstance(filters["image-id"], str):
            ami = self.amis.get(filters["image-id"])
            return [ami] if ami is not None else []
        return describe_images(self, ami_ids=ami_ids, filters=filters, exec_users=exec_users, owners=owners)

    patches.replace(InstanceBackend, "get_instance", get_instance)
    patches.replace(AmiBackend, "describe_images", images)
