"""Observers: Kubernetes watches, AWS pollers and the traffic, all writing one journal."""
