"""Provisioning of the serving cluster, and the local simulator (cluster.sim)."""
