"""Injections: Spot interruptions, rebalance recommendations and capacity errors through FIS, the
instances' metadata (the local simulator's metadata mock) or EventBridge events on NTH's queue."""
