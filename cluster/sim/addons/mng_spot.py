"""What an EKS managed node group does with its Spot nodes' EC2 events (pure), as the EKS user
guide (managed-node-groups.adoc, "Managed node group capacity types", Spot) describes it:

1. "When a Spot node receives a rebalance recommendation, Amazon EKS automatically attempts to
   launch a new replacement Spot node."
2. "If a Spot two-minute interruption notice arrives before the replacement Spot node is in a
   Ready state, Amazon EKS starts draining the Spot node that received the rebalance
   recommendation."
3. "When a replacement Spot node is bootstrapped and in the Ready state on Kubernetes, Amazon EKS
   cordons and drains the Spot node that received the rebalance recommendation."  The group
   (Capacity Rebalancing) then terminates the old instance.
A notice with no rebalance before it drains at once.  The timing between the replacement's
launch and the old instance's termination is not documented (DOMAIN-KARPENTER-MNG-FIS.md marks
it UNCONFIRMED): here the old instance is terminated as soon as its drain ends."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Step(StrEnum):
    LAUNCH_REPLACEMENT = "launch-replacement"  # desired + 1 on the group
    DRAIN = "drain"  # cordon and evict
    TERMINATE = "terminate"  # the old instance, desired - 1 (after a replacement's drain)


@dataclass
class NodeState:
    """One Spot node of a managed group between its first event and its end."""

    replacement: bool = False  # a replacement was launched for it
    replacement_ready: bool = False
    draining: bool = False
    drained: bool = False
    noticed: bool = False


def on_rebalance(state: NodeState) -> list[Step]:
    if state.replacement or state.draining:
        return []
    state.replacement = True
    return [Step.LAUNCH_REPLACEMENT]


def _drain_once(state: NodeState) -> list[Step]:
    if state.draining:
        return []
    state.draining = True
    return [Step.DRAIN]


def on_notice(state: NodeState) -> list[Step]:
    state.noticed = True
    return _drain_once(state)


def on_replacement_ready(state: NodeState) -> list[Step]:
    state.replacement_ready = True
    return _drain_once(state)


def on_drained(state: NodeState) -> list[Step]:
    """After the drain: the rebalance path ends the old instance; after a notice EC2 does."""
    state.drained = True
    return [Step.TERMINATE] if state.replacement and not state.noticed else []
