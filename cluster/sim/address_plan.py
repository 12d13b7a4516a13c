"""Which loopback addresses a simulator takes, so that several run side by side on one machine.

A simulator's nodes live in 127.<o>.0.0 - 127.<o + span - 1>.255.255 (node n at
127.<o + n // 256>.<n % 256>.0, its pods in that /24; its metadata endpoint and NodePorts on the
node's own address) and its load balancers in 127.<lb>.0.0/16.  Two simulators whose ranges
overlap would bind the same addresses: the second one's pods, metadata endpoints and NodePorts
fail to bind, and its ALB sends traffic to the first one's pods.  So each range is leased
(cluster/sim/address_lease.py) before the simulator binds anything; this module is the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

NODE_OCTETS = range(16, 200)  # second octets nodes may use (127.0/8 is all loopback on Linux)
LB_OCTETS = range(200, 255)  # second octets of load balancer ranges; 127.200 is the first, as before
DEFAULT_SPAN = 4  # 4 x 256 node addresses per simulator


@dataclass(frozen=True)
class AddressRanges:
    node_octet: int  # nodes from 127.<node_octet>.0.0
    span: int  # ... through 127.<node_octet + span - 1>.255.0
    lb_octet: int  # load balancers in 127.<lb_octet>.0.0/16

    @property
    def node_octets(self) -> range:
        return range(self.node_octet, self.node_octet + self.span)

    @property
    def lb_subnet(self) -> str:
        return f"127.{self.lb_octet}"

    def describe(self) -> str:
        last = self.node_octet + self.span - 1
        return f"nodes 127.{self.node_octet}.0.0-127.{last}.255.255, load balancers 127.{self.lb_octet}.0.0/16"


def node_range_problem(octet: int, span: int) -> str | None:
    """Why a node range given in the config cannot be used (None: it can)."""
    if octet not in NODE_OCTETS or octet + span - 1 not in NODE_OCTETS:
        return (f"node_address_octet {octet} with {span} octets of nodes leaves 127.{NODE_OCTETS.start}-127.{NODE_OCTETS.stop - 1}; "
                f"give one from {NODE_OCTETS.start} to {NODE_OCTETS.stop - span}, or leave it out to take a free range")
    return None


def node_candidates(span: int) -> list[int]:
    """First octets of the node ranges a simulator may take, in order, without overlapping one another."""
    return list(range(NODE_OCTETS.start, NODE_OCTETS.stop - span + 1, span))


def lb_candidates() -> list[int]:
    return list(LB_OCTETS)
