"""The EC2 instance types the simulator knows: vCPUs, memory and EKS max pods (ENI limits).

`INSTANCE_TYPES` is the curated set the simulated Karpenter plans over (figures from the EC2
instance type pages and amazon-eks-ami's eni-max-pods.txt).  Any other type a node group or a
profile names is looked up in EC2's catalogue as DescribeInstanceTypes gives it (the copy moto
ships), with EKS's max pods from its ENI limits as amazon-eks-ami's max-pods-calculator.sh
computes it without prefix delegation: ENIs x (IPv4 addresses per ENI - 1) + 2.
"""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    max_pods: int


_TABLE = [
    ("t3.medium", 2, 4096, 17), ("t3.large", 2, 8192, 35), ("t3.xlarge", 4, 16384, 58), ("t3.2xlarge", 8, 32768, 58),
    ("t3a.medium", 2, 4096, 17), ("t3a.xlarge", 4, 16384, 58), ("t3a.2xlarge", 8, 32768, 58),
    ("t2.medium", 2, 4096, 17), ("t2.xlarge", 4, 16384, 44), ("t2.2xlarge", 8, 32768, 44),
    ("m5.large", 2, 8192, 29), ("m5.xlarge", 4, 16384, 58), ("m5.2xlarge", 8, 32768, 58), ("m5.4xlarge", 16, 65536, 234),
    ("m5d.xlarge", 4, 16384, 58), ("m5d.2xlarge", 8, 32768, 58),
    ("m5a.xlarge", 4, 16384, 58), ("m5a.2xlarge", 8, 32768, 58),
    ("m5n.xlarge", 4, 16384, 58), ("m5n.2xlarge", 8, 32768, 58),
    ("m5dn.xlarge", 4, 16384, 58), ("m5dn.2xlarge", 8, 32768, 58),
    ("m4.large", 2, 8192, 20), ("m4.xlarge", 4, 16384, 58), ("m4.2xlarge", 8, 32768, 58),
    ("m6i.xlarge", 4, 16384, 58), ("m6i.2xlarge", 8, 32768, 58),
    ("c5.xlarge", 4, 8192, 58), ("c5.2xlarge", 8, 16384, 58),
    ("r5.xlarge", 4, 32768, 58), ("r5.2xlarge", 8, 65536, 58),
]

INSTANCE_TYPES: dict[str, InstanceType] = {n: InstanceType(n, c, m, p) for n, c, m, p in _TABLE}


class UnknownInstanceType(KeyError, ValueError):
    """A name EC2 does not have (a KeyError to lookups, a ValueError to validators)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@functools.cache
def _ec2_catalogue() -> dict[str, dict[str, Any]]:
    data = resources.files("moto.ec2").joinpath("resources/instance_types.json.gz").read_bytes()
    catalogue: dict[str, dict[str, Any]] = json.loads(gzip.decompress(data))
    return catalogue


def _from_catalogue(name: str) -> InstanceType | None:
    info = _ec2_catalogue().get(name)
    if info is None:
        return None
    network = info.get("NetworkInfo") or {}
    enis, ips = int(network.get("MaximumNetworkInterfaces", 0)), int(network.get("Ipv4AddressesPerInterface", 0))
    return InstanceType(name, int(info["VCpuInfo"]["DefaultVCpus"]), int(info["MemoryInfo"]["SizeInMiB"]), max(enis * (ips - 1) + 2, 2))


def known(name: str) -> bool:
    return name in INSTANCE_TYPES or name in _ec2_catalogue()


def lookup(name: str) -> InstanceType:
    found = INSTANCE_TYPES.get(name) or _from_catalogue(name)
    if found is None:
        near = sorted(t for t in _ec2_catalogue() if t.split(".")[0] == name.split(".")[0])[:8]
        hint = f"; {name.split('.')[0]} comes in {', '.join(near)}" if near else "; EC2 names are family.size, such as m5.large"
        raise UnknownInstanceType(f"unknown instance type {name!r}{hint}")
    return found


def unknown_types(names: list[str] | tuple[str, ...]) -> list[str]:
    return [t for t in names if not known(t)]


def allocatable(itype: InstanceType) -> tuple[int, int]:
    """(cpu millicores, memory bytes) a kubelet on the EKS AMI reports as allocatable.

    amazon-eks-ami bootstrap: kube-reserved cpu = 6% of the first core, 1% of the second,
    0.5% of cores 3-4, 0.25% above; memory = 255Mi + 11Mi per max pod; eviction-hard 100Mi.
    """
    cores = itype.vcpus
    reserved_m = 60.0
    if cores > 1:
        reserved_m += 10
    if cores > 2:
        reserved_m += 5 * (min(cores, 4) - 2)
    if cores > 4:
        reserved_m += 2.5 * (cores - 4)
    cpu = cores * 1000 - int(reserved_m)
    mem_mib = itype.memory_mib - (255 + 11 * itype.max_pods) - 100
    return cpu, mem_mib * 1024 * 1024
