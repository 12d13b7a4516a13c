"""The EC2 instance types the simulator knows: vCPUs, memory and EKS max pods (ENI limits).

Figures from the EC2 instance type pages and amazon-eks-ami's eni-max-pods.txt.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def lookup(name: str) -> InstanceType:
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown instance type {name!r}; known: {', '.join(sorted(INSTANCE_TYPES))}") from None


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
