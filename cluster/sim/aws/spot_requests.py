"""Spot Instance requests behind Auto Scaling's Spot instances, as EC2 keeps them: every Spot
instance an Auto Scaling group launches comes from a one-time Spot request
(`describe-spot-instance-requests`, the instance's `SpotInstanceRequestId`), `active` /
`fulfilled` while the instance runs and `closed` once it is gone, with the status code saying
why (EC2 user guide, "Spot request status": instance-terminated-by-service for an interruption,
instance-terminated-by-user otherwise).  moto makes a request only through RequestSpotInstances,
which launches an instance of its own; here the request is attached to the instance the group
launched."""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.models.spot_requests import SpotInstanceRequest
from moto.ec2.utils import random_spot_request_id

from cluster.sim.aws.moto_patches import MotoPatches

CLOSED_STATUS = {
    "interrupted": ("instance-terminated-by-service", "Your Spot Instance was terminated because of a Spot interruption."),
    "terminated": ("instance-terminated-by-user", "Spot Instance terminated due to user-initiated termination."),
}


def attach_request(ec2: Any, instance: Any, az: str) -> str:
    """A fulfilled one-time Spot request for an instance already launched; its id."""
    launch = SpotInstanceRequest.launch_instance
    SpotInstanceRequest.launch_instance = lambda self: instance  # type: ignore[method-assign]  # the group launched it already
    try:
        request = SpotInstanceRequest(
            ec2, random_spot_request_id(), "", instance.image_id, "one-time", None, None, None, None, getattr(instance, "key_name", None) or "",
            [g.id for g in getattr(instance, "security_groups", None) or []], None, instance.instance_type, az, None, None, False,
            instance.subnet_id, {}, None, "terminate",
        )
    finally:
        SpotInstanceRequest.launch_instance = launch  # type: ignore[method-assign]
    ec2.spot_instance_requests[request.id] = request
    instance.spot_instance_request_id = request.id
    return str(request.id)


def close_request(ec2: Any, instance: Any, why: str) -> None:
    """The instance is gone: its request closes, with the status code for `why` (interrupted | terminated)."""
    request = ec2.spot_instance_requests.get(getattr(instance, "spot_instance_request_id", None) or "")
    if request is None or request.state == "closed":
        return
    request.state = "closed"
    request._status_code, request.status_message = CLOSED_STATUS[why]


def stop_refusal(instance_id: str, lifecycle: str | None) -> str | None:
    """EC2's answer when StopInstances cannot stop the instance, or None.  Every Spot instance an
    Auto Scaling group or Karpenter launches comes from a one-time request, which EC2 will not
    stop (EC2 API reference, StopInstances: UnsupportedOperation)."""
    if lifecycle == "spot":
        return (f"You can't stop the Spot Instance '{instance_id}' because it is associated with a one-time Spot Instance "
                "request. You can only stop Spot Instances associated with persistent Spot Instance requests.")
    return None


class UnsupportedOperation(EC2ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("UnsupportedOperation", message)


def refuse_stopping_one_time_spot(patches: MotoPatches) -> None:
    """StopInstances as EC2 answers it: the whole call refused when any instance is Spot (moto
    stops them)."""
    stop = InstanceBackend.stop_instances

    def stop_instances(backend: Any, instance_ids: list[str]) -> Any:
        for instance in backend.get_multi_instances_by_id(instance_ids):
            refusal = stop_refusal(instance.id, getattr(instance, "lifecycle", None))
            if refusal:
                raise UnsupportedOperation(refusal)
        return stop(backend, instance_ids)

    patches.replace(InstanceBackend, "stop_instances", stop_instances)
