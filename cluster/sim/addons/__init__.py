"""Cluster add-ons the simulator behaves as when their manifests are applied: the AWS Node
Termination Handler, Cluster Autoscaler and the Horizontal Pod Autoscaler's metrics."""
