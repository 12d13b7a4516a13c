"""Observers of what is not an SDK call: the traffic.  The Kubernetes watches and the AWS pollers
are adapters (chaos/kube/watches.py, chaos/aws/observers.py); all write one journal."""
