"""Simulated TF Serving pods: the REST API, a deterministic model, and the pods' servers."""
