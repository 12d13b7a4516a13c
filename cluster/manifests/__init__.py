"""Kubernetes manifests of the serving cluster's add-ons, as their Helm charts render them; the
same objects are applied to a real EKS cluster and to the simulator."""
