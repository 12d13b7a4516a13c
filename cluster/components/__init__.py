"""The real components' configuration, read exactly as each component reads it (NTH's env vars,
Cluster Autoscaler's flags, the Load Balancer Controller's annotations, TF Serving's flags), with
their defaults and sources.  One home for both halves: the simulator behaves by these readings and
doctor judges by them, so the two can never disagree about a setting."""
