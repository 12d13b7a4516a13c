"""kind: rebalance, EC2's rebalance recommendation: a Spot instance is at elevated risk of
interruption, with no reclaim promised.  NTH cordons and drains on it when
`enableRebalanceDraining` is set (monitorMode from IMDS) or always in queue-processor mode.  FIS has
no action that sends one alone, so it goes on the instances' metadata or as the EventBridge event."""

from __future__ import annotations

from typing import Literal

from chaos.inject.fault import Fault
from chaos.inject.metadata_notice import MetadataNotice
from chaos.inject.queue_event import QueueEvent


class Rebalance(Fault):
    """A rebalance recommendation on each chosen node; nothing is reclaimed."""

    kind: Literal["rebalance"]

    injectors = {"metadata": MetadataNotice(), "sqs": QueueEvent()}
    wrong_via = "FIS has no rebalance-only action: use via metadata or sqs for a rebalance recommendation"
    notices = True
