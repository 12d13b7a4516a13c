"""What one instance's metadata service answers (IMDS paths as EC2 and amazon-ec2-metadata-mock
serve them), as pure data: notices are set by the interruption engine, read by NTH over HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

NOT_FOUND_BODY = """<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>404 - Not Found</title>
 </head>
 <body>
  <h1>404 - Not Found</h1>
 </body>
</html>
"""

META = "/latest/meta-data/"


@dataclass
class InstanceMetadata:
    """One instance as its metadata service describes it, plus the notices given to it."""

    instance_id: str
    instance_type: str
    az: str
    region: str
    account_id: str
    local_hostname: str
    local_ipv4: str
    spot: bool
    ami_id: str = "ami-0b0a8d8cbf1e0a5f1"
    launched_at: str = ""
    instance_action: dict[str, str] | None = None  # {"action": ..., "time": ...} once noticed
    rebalance: dict[str, str] | None = None  # {"noticeTime": ...}
    scheduled: list[dict[str, str]] = field(default_factory=list)
    security_groups: list[tuple[str, str]] = field(default_factory=list)  # (name, id)
    subnet_id: str = ""
    vpc_id: str = ""
    role: str | None = None  # the instance profile's role: iam/ paths exist only with one
    instance_profile_arn: str = ""
    tags: dict[str, str] | None = None  # None: instance tags not in metadata (InstanceMetadataTags disabled)
    user_data: str | None = None
    credentials: dict[str, str] | None = None  # the role's, as IMDS hands them out (set by the service: times are real)
    _iam: tuple[object, str, str] | None = field(default=None, repr=False, compare=False)  # (credentials, info, document)

    def iam_documents(self) -> tuple[str, str]:
        """iam/info and the credentials document, written once per set of credentials."""
        assert self.credentials is not None
        if self._iam is None or self._iam[0] is not self.credentials:
            info = json.dumps({"Code": "Success", "LastUpdated": self.credentials["LastUpdated"],
                               "InstanceProfileArn": self.instance_profile_arn, "InstanceProfileId": "AIPA" + self.instance_id[2:].upper()}, indent=2)
            self._iam = (self.credentials, info, json.dumps(self.credentials, indent=2))
        return self._iam[1], self._iam[2]

    @property
    def mac(self) -> str:
        return "0e:" + ":".join(self.instance_id[-10:][i : i + 2] for i in range(0, 10, 2))

    def leaves(self) -> dict[str, str | None]:
        """Every metadata path (under /latest/meta-data/) with its text; None: 404 for now."""
        mac = self.mac
        iface = f"network/interfaces/macs/{mac}/"
        out: dict[str, str | None] = {
            "ami-id": self.ami_id,
            "hostname": self.local_hostname,
            "instance-id": self.instance_id,
            "instance-life-cycle": "spot" if self.spot else "on-demand",
            "instance-type": self.instance_type,
            "local-hostname": self.local_hostname,
            "local-ipv4": self.local_ipv4,
            "mac": mac,
            "instance-action": "none",  # the maintenance action path: `none` until EC2 schedules one
            "security-groups": "\n".join(name for name, _ in self.security_groups) or None,
            "services/domain": "amazonaws.com",
            "services/partition": "aws",
            iface + "device-number": "0",
            iface + "interface-id": "eni-" + self.instance_id[2:],
            iface + "local-hostname": self.local_hostname,
            iface + "local-ipv4s": self.local_ipv4,
            iface + "mac": mac,
            iface + "owner-id": self.account_id,
            iface + "security-group-ids": "\n".join(gid for _, gid in self.security_groups) or None,
            iface + "security-groups": "\n".join(name for name, _ in self.security_groups) or None,
            iface + "subnet-id": self.subnet_id or None,
            iface + "vpc-id": self.vpc_id or None,
            "placement/availability-zone": self.az,
            "placement/availability-zone-id": f"use1-az{ord(self.az[-1]) - 96}" if self.region == "us-east-1" else self.az,
            "placement/region": self.region,
            "events/maintenance/scheduled": json.dumps(self.scheduled),
            "events/recommendations/rebalance": json.dumps(self.rebalance) if self.rebalance else None,
        }
        if self.spot:
            out["spot/instance-action"] = json.dumps(self.instance_action) if self.instance_action else None
            out["spot/termination-time"] = self.instance_action["time"] if self.instance_action else None
        if self.role is not None and self.credentials is not None:
            out["iam/info"], out[f"iam/security-credentials/{self.role}"] = self.iam_documents()
        if self.tags is not None:
            out.update({f"tags/instance/{k}": v for k, v in sorted(self.tags.items())})
        return out

    def identity_document(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "architecture": "x86_64",
            "availabilityZone": self.az,
            "imageId": self.ami_id,
            "instanceId": self.instance_id,
            "instanceType": self.instance_type,
            "pendingTime": self.launched_at,
            "privateIp": self.local_ipv4,
            "region": self.region,
            "version": "2017-09-30",
        }


# what GET / lists: the metadata versions an instance serves (the dated ones are IMDS's history)
VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04",
            "2011-01-01", "2011-05-01", "2012-01-12", "2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19", "2016-06-30", "2016-09-02",
            "2018-03-28", "2018-08-17", "2018-09-24", "2019-10-01", "2020-10-27", "2021-01-03", "2021-03-23", "2021-07-15", "2022-09-24",
            "2024-04-11", "latest")


def answer(meta: InstanceMetadata, path: str, leaves: dict[str, str | None] | None = None) -> tuple[int, str]:
    """(status, body) for a GET of `path` on this instance's metadata service (`leaves`: the
    caller's `meta.leaves()`, when it has them).  A leaf asked for with a trailing slash answers
    as without it (botocore asks `placement/availability-zone/`)."""
    if path == "/":
        return 200, "\n".join(VERSIONS)
    if path in ("/latest/dynamic/instance-identity/document", "/latest/dynamic/instance-identity/document/"):
        return 200, json.dumps(meta.identity_document(), indent=2)
    if path in ("/latest", "/latest/"):
        return 200, "\n".join(["dynamic", "meta-data"] + (["user-data"] if meta.user_data is not None else []))
    if path in ("/latest/user-data", "/latest/user-data/"):
        return (200, meta.user_data) if meta.user_data is not None else (404, NOT_FOUND_BODY)
    if not path.startswith(META) and path != META.rstrip("/"):
        return 404, NOT_FOUND_BODY
    rel = path[len(META):] if path.startswith(META) else ""
    leaves = meta.leaves() if leaves is None else leaves
    if rel.rstrip("/") in leaves:
        value = leaves[rel.rstrip("/")]
        return (200, value) if value is not None else (404, NOT_FOUND_BODY)
    # a directory: list what is below it (present leaves only, sub-directories with a slash)
    prefix = rel if rel.endswith("/") or not rel else rel + "/"
    children: list[str] = []
    for key, value in leaves.items():
        if value is None or not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        child = rest.split("/", 1)[0] + ("/" if "/" in rest else "")
        if child not in children:
            children.append(child)
    if not children:
        return 404, NOT_FOUND_BODY
    return 200, "\n".join(sorted(children))
